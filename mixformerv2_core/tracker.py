"""The MixFormerV2 tracking procedure (reference §5): one batched forward per frame for all targets.

Per target: crop the search region around the previous box, run the network, map the box back, clip it,
and keep the best-scoring crop of each ``update_interval`` frames as the next online template (falling back
to the initial template when nothing scored above the threshold).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from .backends import InferenceBackend, create_backend
from .backends.base import NetworkInput
from .checkpoint import LoadedCheckpoint, read_checkpoint
from .config import VARIANT_TRACKING, ModelConfig, tracking_defaults
from .geometry import Box, CropWindow, clip_box, crop_window, map_box_back, validate_init_box
from .preprocessing import check_color_order, check_frame
from .tracker_crops import crops_for

# Every default comes from the variant table (config.VARIANT_TRACKING); a tracker resolves them for its model.
TRACKER_PRESETS = {name: dict(row.presets) for name, row in VARIANT_TRACKING.items()}


@dataclass
class TrackerParams:
    """Tracking hyper-parameters. ``None`` means "the model's default": the row of its variant in
    ``config.VARIANT_TRACKING`` (B 5.0, S 4.4 search factor; template factor 2.0, update every 200 frames
    above 0.5), filled in when a tracker is built for a model.

    Only one online template is supported: the official code's ``online_size > 1`` path crashes (§5.8).
    """

    search_factor: Optional[float] = None
    template_factor: Optional[float] = None
    update_interval: Optional[int] = None
    update_threshold: Optional[float] = None
    max_score_decay: float = 1.0
    clip_margin: float = 10.0
    use_cache: bool = True
    color_order: str = "rgb"

    def validate(self) -> "TrackerParams":
        problems = []
        if self.search_factor is not None and not (self.search_factor > 0 and math.isfinite(self.search_factor)):
            problems.append(f"search_factor must be positive, got {self.search_factor}")
        if self.template_factor is not None and not self.template_factor > 0:
            problems.append(f"template_factor must be positive, got {self.template_factor}")
        if self.update_interval is not None and (
                int(self.update_interval) != self.update_interval or self.update_interval < 1):
            problems.append(f"update_interval must be a positive integer, got {self.update_interval}")
        if self.update_threshold is not None and not 0.0 <= self.update_threshold <= 1.0:
            problems.append(f"update_threshold must lie in [0, 1], got {self.update_threshold}")
        if not 0.0 <= self.max_score_decay <= 1.0:
            problems.append(f"max_score_decay must lie in [0, 1], got {self.max_score_decay}")
        if self.clip_margin < 0:
            problems.append(f"clip_margin must be >= 0, got {self.clip_margin}")
        try:
            self.color_order = check_color_order(self.color_order)
        except ValueError as error:
            problems.append(str(error))
        if problems:
            raise ValueError("invalid tracker parameters: " + "; ".join(problems))
        if self.update_interval is not None:
            self.update_interval = int(self.update_interval)
        return self


def resolve_params(
    config: ModelConfig,
    preset: Optional[str] = None,
    checkpoint_defaults: Optional[Mapping[str, Any]] = None,
    **overrides: Any,
) -> TrackerParams:
    """Variant defaults <- checkpoint's tracker defaults <- benchmark preset <- explicit overrides.

    The one precedence (docs/tracker.md): what the user set > preset > checkpoint > variant table. An override
    of ``None`` means "not set" and keeps the value below it.
    """
    values: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(TrackerParams)}
    for source in (checkpoint_defaults or {}, _preset_values(config, preset), overrides):
        unknown = sorted(set(source) - known)
        if unknown:
            raise ValueError(f"unknown tracker parameters {unknown}; known: {sorted(known)}")
        values.update({key: value for key, value in source.items() if value is not None})
    return with_model_defaults(TrackerParams(**values), config).validate()


def with_model_defaults(params: TrackerParams, config: ModelConfig) -> TrackerParams:
    """Fills every unset (None) setting from the model's row of the variant table."""
    row = tracking_defaults(config)
    for name in ("search_factor", "template_factor", "update_interval", "update_threshold"):
        if getattr(params, name) is None:
            setattr(params, name, getattr(row, name))
    return params


def _preset_values(config: ModelConfig, preset: Optional[str]) -> Mapping[str, Any]:
    if preset in (None, "", "default"):
        return {}
    presets = tracking_defaults(config).presets
    if preset not in presets:
        raise ValueError(f"unknown tracker preset {preset!r}; available: {sorted(presets)} (or 'default')")
    return presets[preset]


def confidence(score_logits: np.ndarray) -> list[float]:
    """Sigmoid in float32, as the official tracker computes it.

    The precision matters: in float32 every logit above ~16.6 gives exactly 1.0, so among saturated frames
    the earliest keeps the online-template slot (``score > best`` fails on ties). NaN logits give 0.
    """
    logits = torch.from_numpy(np.nan_to_num(np.asarray(score_logits, dtype=np.float32), nan=-np.inf))
    return torch.sigmoid(logits).tolist()


# Below this score a target is reported lost. The official tracker has no such notion (its score only gates
# online-template updates at 0.5); 0.25 keeps short dips (occlusion, blur) from flapping the state.
DEFAULT_LOST_THRESHOLD = 0.25


@dataclass(frozen=True)
class TrackResult:
    target_id: Hashable
    box: Box  # (x, y, w, h) in image pixels
    score: float  # confidence in [0, 1]
    frame_index: int  # 0 for the initialisation frame
    search_window: Optional[CropWindow] = None

    def is_lost(self, threshold: float = DEFAULT_LOST_THRESHOLD) -> bool:
        return is_lost(self.score, threshold)


def is_lost(score: float, threshold: float = DEFAULT_LOST_THRESHOLD) -> bool:
    """The one rule that calls a target lost (node messages, diagnostics, drawing, CLI colours).

    A score that is not a number counts as lost: a NaN must never read as a confident detection.
    """
    return not score >= threshold


@dataclass
class _TargetState:
    box: Box
    template: NetworkInput  # a NumPy array, or a tensor on the backend's device with device crops
    online_max_template: NetworkInput
    max_score: float = -1.0
    frame_index: int = 0
    last: Optional[TrackResult] = field(default=None, repr=False)


class MultiTargetTracker:
    """Tracks any number of targets with one batched network step per frame."""

    def __init__(self, backend: InferenceBackend, params: Optional[TrackerParams] = None) -> None:
        self.backend = backend
        self.config: ModelConfig = backend.config
        self.params = with_model_defaults(params or TrackerParams(), self.config).validate()
        self._targets: dict[Hashable, _TargetState] = {}
        self._crops = crops_for(backend, self.params, self.config.search_size)

    @classmethod
    def from_checkpoint(
        cls,
        path: Union[str, LoadedCheckpoint],
        variant: Optional[str] = None,
        device: str = "cpu",
        backend: str = "torch",
        preset: Optional[str] = None,
        precision: Optional[str] = None,
        backend_options: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> "MultiTargetTracker":
        checkpoint = path if isinstance(path, LoadedCheckpoint) else read_checkpoint(path, variant)
        tracker_params = resolve_params(checkpoint.config, preset, checkpoint.tracker_defaults, **params)
        engine = create_backend(backend, checkpoint, device=device, precision=precision,
                                use_cache=tracker_params.use_cache, **dict(backend_options or {}))
        return cls(engine, tracker_params)

    @property
    def target_ids(self) -> list:
        return list(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    def last_result(self, target_id: Hashable) -> Optional[TrackResult]:
        target = self._targets.get(target_id)
        return target.last if target else None

    def _template(self, source: Any, box: Box) -> NetworkInput:
        return self._crops.template(source, crop_window(box, self.params.template_factor, self.config.template_size))

    def add(self, target_id: Hashable, frame: np.ndarray, box_xywh: Sequence[float]) -> TrackResult:
        """Start (or restart) tracking ``target_id`` from ``box_xywh`` in ``frame``."""
        frame = check_frame(frame)
        box = validate_init_box(box_xywh, frame.shape[0], frame.shape[1])
        template = self._template(self._crops.prepare(frame), box)
        self.backend.set_templates(target_id, template, template)
        result = TrackResult(target_id, box, 1.0, 0)
        self._targets[target_id] = _TargetState(box=box, template=template, online_max_template=template, last=result)
        return result

    def remove(self, target_id: Hashable) -> bool:
        """Stop tracking ``target_id``; returns whether it was tracked."""
        if self._targets.pop(target_id, None) is None:
            return False
        self.backend.remove(target_id)
        return True

    def reset(self) -> None:
        self._targets.clear()
        self.backend.clear()

    def track(self, frame: np.ndarray) -> dict[Hashable, TrackResult]:
        """Advance every target by one frame."""
        if not self._targets:
            raise RuntimeError("track() called before any target was initialised (call add()/initialize() first)")
        frame = check_frame(frame)
        source = self._crops.prepare(frame)
        keys = list(self._targets)
        windows = [crop_window(self._targets[key].box, self.params.search_factor, self.config.search_size)
                   for key in keys]
        output = self.backend.infer(keys, self._crops.search_batch(source, windows))
        scores = confidence(output.score_logits)
        height, width = frame.shape[:2]
        return {
            key: self._advance(key, source, (height, width), windows[index], output.pred_boxes[index], scores[index])
            for index, key in enumerate(keys)
        }

    def _advance(self, key: Hashable, source: Any, frame_size: tuple[int, int], window: CropWindow,
                 pred: np.ndarray, score: float) -> TrackResult:
        target = self._targets[key]
        params = self.params
        target.frame_index += 1
        height, width = frame_size
        box = map_box_back(pred, target.box, window.size)
        if all(math.isfinite(v) for v in box):
            target.box = clip_box(box, height, width, params.clip_margin)
        else:  # a non-finite prediction (e.g. half-precision overflow) keeps the previous box
            score = 0.0
        target.max_score *= params.max_score_decay
        if score > params.update_threshold and score > target.max_score:
            target.online_max_template = self._template(source, target.box)
            target.max_score = score
        if target.frame_index % params.update_interval == 0:
            self.backend.set_templates(key, target.template, target.online_max_template)
            target.max_score = -1.0
            target.online_max_template = target.template
        target.last = TrackResult(key, target.box, score, target.frame_index, window)
        return target.last


class MixFormerV2Tracker:
    """Single-target tracker: ``initialize(frame, box)`` then ``track(frame)`` per frame."""

    TARGET_ID = 0

    def __init__(self, backend: InferenceBackend, params: Optional[TrackerParams] = None) -> None:
        self._multi = MultiTargetTracker(backend, params)

    @classmethod
    def from_checkpoint(cls, path: Union[str, LoadedCheckpoint], **kwargs: Any) -> "MixFormerV2Tracker":
        multi = MultiTargetTracker.from_checkpoint(path, **kwargs)
        return cls(multi.backend, multi.params)

    @property
    def params(self) -> TrackerParams:
        return self._multi.params

    @property
    def config(self) -> ModelConfig:
        return self._multi.config

    @property
    def initialized(self) -> bool:
        return len(self._multi) > 0

    def initialize(self, frame: np.ndarray, box_xywh: Sequence[float]) -> TrackResult:
        self._multi.reset()
        return self._multi.add(self.TARGET_ID, frame, box_xywh)

    def track(self, frame: np.ndarray) -> TrackResult:
        if not self.initialized:
            raise RuntimeError("track() called before initialize(frame, box)")
        return self._multi.track(frame)[self.TARGET_ID]


def load_tracker(
    path: str,
    variant: Optional[str] = None,
    device: str = "cpu",
    backend: str = "torch",
    **params: Any,
) -> MixFormerV2Tracker:
    """A ready single-target tracker from a weights file (official ``.pth.tar`` or ours)."""
    return MixFormerV2Tracker.from_checkpoint(path, variant=variant, device=device, backend=backend, **params)
