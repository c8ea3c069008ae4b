"""Training data: dataset readers, the synthetic dataset, sampling, crop processing and loaders."""
from __future__ import annotations

from typing import Any, Mapping

from .loader import EpochSampler, build_loader
from .processing import InvalidSample, ProcessingParams, TrackingProcessing
from .sampler import TrainingPairDataset
from .sequences import SequenceInfo, TrackingDataset
from .real_texture import RealTextureDataset
from .real_video_tracks import RealVideoTracks
from .synthetic import SyntheticTrackingDataset

# Generated training sources (config ``type``): scenes rendered on demand from a seed.
SCENE_DATASETS = {"synthetic": SyntheticTrackingDataset, "real_texture": RealTextureDataset}
# Sources built from the registry imagery by a seed, taking their options as they are.
REGISTRY_DATASETS = {"real_video_tracks": RealVideoTracks}


def build_dataset(spec: Mapping[str, Any]) -> TrackingDataset:
    """One dataset from its config entry (``type`` plus the reader's arguments; ``ratio`` is the sampler's)."""
    from . import readers

    options = {k: v for k, v in spec.items() if k not in ("type", "ratio")}
    kind = spec.get("type")
    if isinstance(options.get("packages"), str):  # `packages: opencv-doc` names one source, not its letters
        options["packages"] = [options["packages"]]
    if kind in SCENE_DATASETS:
        if "frame_size" in options:
            options["frame_size"] = tuple(options["frame_size"])
        if "packages" in options:
            options["packages"] = tuple(options["packages"])
        return SCENE_DATASETS[kind](**options)
    if kind in REGISTRY_DATASETS:
        return REGISTRY_DATASETS[kind](**options)
    if kind not in readers.READERS:
        known = sorted(SCENE_DATASETS) + sorted(REGISTRY_DATASETS) + sorted(readers.READERS)
        raise ValueError(f"unknown dataset type {kind!r}; choose one of {known}")
    return readers.READERS[kind](**options)


def build_training_dataset(data: Mapping[str, Any], template_size: int, search_size: int, patch_size: int, seed: int,
                           score_labels: bool = False, train: bool = True) -> TrainingPairDataset:
    """Training pairs for a model with these crop sizes; crop factors left unset in ``data`` are the variant's."""
    from ..config import training_crop_factors

    data = {**data, **training_crop_factors(data, patch_size, template_size, search_size)}
    params = ProcessingParams(
        template_size=template_size, search_size=search_size, patch_size=patch_size,
        **{key: data[key] for key in ("template_factor", "search_factor", "search_scale_jitter", "search_center_jitter",
                                      "grayscale_prob", "joint_flip_prob", "crop_flip_prob", "brightness_jitter")},
    )
    datasets = [build_dataset(spec) for spec in data["datasets"]]
    return TrainingPairDataset(
        datasets, [spec.get("ratio", 1) for spec in data["datasets"]], TrackingProcessing(params, train=train),
        samples_per_epoch=data["samples_per_epoch"], max_gap=data["max_gap"], mode=data["sampler_mode"], seed=seed,
        score_labels=score_labels, pos_prob=data["pos_prob"],
        distractor_negative_prob=data["distractor_negative_prob"], search_factor=params.search_factor,
    )


__all__ = ["EpochSampler", "InvalidSample", "ProcessingParams", "RealTextureDataset", "RealVideoTracks", "SequenceInfo",
           "SyntheticTrackingDataset", "TrackingDataset", "TrackingProcessing", "TrainingPairDataset", "build_dataset",
           "build_loader", "build_training_dataset"]
