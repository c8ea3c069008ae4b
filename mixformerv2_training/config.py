"""Training configuration: YAML presets deep-merged over defaults, with unknown keys refused."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from mixformerv2_core.config import training_crop_defaults

from .data.registry import PHOTOS
from .losses import TARGET_CELLS

STAGES = ("teacher", "student", "dense_to_sparse", "deep_to_shallow", "score")
SCORE_LABELS = ("presence", "iou")
PRESET_DIR = Path(__file__).resolve().parent / "configs"
VALIDATION_SEED = 300_000  # training scenes: seeds from 0 (easy variants from 50,000); benchmarks: from 100,000
VALIDATION_KINDS = ("real_texture", "synthetic")
VALIDATION_METRICS = ("auc", "score_roc_auc")  # the score stage trains the confidence only: its epochs differ there
WHOLE_SECTIONS = ("model", "teacher_model")  # a preset's model replaces its base's instead of merging into it

DEFAULTS: dict[str, Any] = {
    "stage": "student",
    "seed": 42,
    "output_dir": "runs/train",
    "model": {},  # student: ModelConfig fields or {"variant": "B"|"S", ...overrides}
    "teacher_model": {},  # stage "teacher": TeacherConfig fields
    "teacher": {"checkpoint": None},  # frozen teacher of the distillation stages (MixViT or MixFormerV2)
    "init": {"checkpoint": None},  # initial weights (previous stage, or MAE for teacher/stage 1)
    "data": {
        "datasets": [{"type": "synthetic", "ratio": 1}],
        "samples_per_epoch": 60000,
        "batch_size": 32,
        "num_workers": 8,
        "max_gap": 200,
        "sampler_mode": "causal",
        "template_factor": None,  # None: the factors of the variant whose crop sizes the model has (see
        "search_factor": None,  # mixformerv2_core.config.VARIANT_TRACKING: B 2.0/5.0, S 2.0/4.5)
        "search_scale_jitter": 0.5,
        "search_center_jitter": 4.5,
        "grayscale_prob": 0.05,
        "joint_flip_prob": 0.5,
        "crop_flip_prob": 0.5,
        "brightness_jitter": 0.2,
        "pos_prob": 0.5,
        "distractor_negative_prob": 0.0,  # score stage: negatives around a look-alike in the same frame
    },
    "train": {
        "epochs": 500,
        "lr": 4e-4,
        "backbone_lr_multiplier": 0.1,
        "weight_decay": 1e-4,
        "lr_drop_epoch": 400,
        "lr_drop_factor": 0.1,
        "grad_clip": 0.1,
        "amp": True,  # only on CUDA
        "amp_dtype": "bfloat16",
        "iou_loss": "ciou",
        "loss_weights": {"l1": 5.0, "iou": 2.0, "kl": 1.0, "feat": 0.2, "score": 1.0, "attn": 0.0},
        "target_attention": "box",  # with loss weight attn: "box" (whole box) or "edges" (each token its side)
        "score_label": "presence",  # score stage: "presence" (the paper: the crop holds the target) or "iou"
        # (the overlap of the model's own box with the target, 0 without one: the score estimates the IoU)
        "remove_layers": [],  # deep-to-shallow: blocks eliminated by progressive depth pruning
        "pruning_epochs": 40,  # m of eq. 9
        "feature_pairs": [],  # [[student_block, teacher_block], ...]
        "log_interval": 20,
        "checkpoint_every": 1,
        "keep_checkpoints": 3,
        "max_steps": None,  # stop after this many optimizer steps (smoke runs, tests)
        "tracker_search_factor": None,  # stored with the exported student (None: see export.tracker_defaults_for)
    },
    "validation": {  # choosing the epoch by tracking (validation.py); scenes 0: final.pt is the last epoch
        "scenes": 0,
        "kind": "real_texture",  # or "synthetic" (generated scenes: no registry sources needed)
        "photos": "train",  # real_texture: "held_out" shows the benchmark's held-out photos (other seeds)
        "packages": None,  # real_texture: the photo sources (registry.PHOTOS); None: the datasets' default ones
        "frames": 100,
        "frame_size": [240, 320],
        "first_seed": VALIDATION_SEED,
        "every": 1,  # epochs between validations (the last epoch is always validated)
        "metric": "auc",  # or "score_roc_auc" (the score stage)
        "select_best": True,  # final.pt is the best validated epoch's export (best.pt)
    },
}


def training_crop_factors(data: Mapping[str, Any], patch_size: int, template_size: int,
                          search_size: int) -> dict[str, float]:
    """The crop factors a run samples with: the config's where set, else the variant table's for these sizes."""
    defaults = training_crop_defaults(patch_size, template_size, search_size)
    return {key: float(data.get(key) if data.get(key) is not None else defaults[key]) for key in defaults}


def trained_search_factor(config: Mapping[str, Any], patch_size: int, template_size: int,
                          search_size: int) -> float:
    """The search factor a run's network tracks at: ``train.tracker_search_factor`` when set, else the factor
    its training crops were cut with.
    """
    factor = config["train"].get("tracker_search_factor")
    if factor is None:
        factor = training_crop_factors(config["data"], patch_size, template_size, search_size)["search_factor"]
    return float(factor)


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in update.items():
        where = f"{path}{key}"
        if path == "" and key not in DEFAULTS:
            raise ValueError(f"unknown config section {where!r}; known: {sorted(DEFAULTS)}")
        if key in merged and isinstance(merged[key], Mapping) and isinstance(value, Mapping) and key not in ("model", "teacher_model", "loss_weights"):
            unknown = sorted(set(value) - set(merged[key]))
            if unknown and merged[key]:
                raise ValueError(f"unknown keys in {where!r}: {unknown}; known: {sorted(merged[key])}")
            merged[key] = deep_merge(merged[key], value, where + ".")
        elif isinstance(merged.get(key), Mapping) and isinstance(value, Mapping):
            merged[key] = {**merged[key], **value}
        elif isinstance(merged.get(key), list) and isinstance(value, Mapping):
            merged[key] = _merge_into_list(merged[key], value, where)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_into_list(items: list, update: Mapping[Any, Any], where: str) -> list:
    """``data.datasets.0.cache_size=600``: an override reaches into a list by the element's index."""
    merged = copy.deepcopy(items)
    for index, value in update.items():
        position = int(index) if str(index).isdigit() else -1
        if not 0 <= position < len(items):
            raise ValueError(f"{where!r} is a list of {len(items)}: index it as {where}.N with N from 0 to "
                             f"{len(items) - 1}, got {where}.{index}")
        merged[position] = _merge_freely(merged[position], value)
    return merged


def _merge_freely(base: Any, update: Any) -> Any:
    """A list element (a dataset's spec) takes any key: its options are its type's, not the defaults'."""
    if not (isinstance(base, Mapping) and isinstance(update, Mapping)):
        return copy.deepcopy(update)
    return {**base, **{key: _merge_freely(base.get(key), value) for key, value in update.items()}}


def parse_override(text: str) -> dict[str, Any]:
    """``train.epochs=3`` -> ``{"train": {"epochs": 3}}`` (the value is read as YAML)."""
    if "=" not in text:
        raise ValueError(f"an override looks like section.key=value, got {text!r}")
    dotted, raw = text.split("=", 1)
    value: Any = yaml.safe_load(raw)
    for part in reversed(dotted.split(".")):
        value = {part: value}
    return value


def resolve_preset(name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    candidate = PRESET_DIR / (name if name.endswith(".yaml") else f"{name}.yaml")
    if candidate.is_file():
        return candidate
    presets = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
    raise FileNotFoundError(f"config {name!r} is neither a file nor a preset; presets: {presets}")


def _preset_with_bases(source: str | Mapping[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """A preset may name another in ``base:``; it is applied first, so a preset holds only what differs."""
    data = dict(source) if isinstance(source, Mapping) else yaml.safe_load(resolve_preset(source).read_text()) or {}
    base = data.pop("base", None)
    if base is None:
        return data
    if base in seen:
        raise ValueError(f"presets name each other as base in a cycle: {' -> '.join((*seen, base))}")
    return _overlay(_preset_with_bases(base, (*seen, base)), data)


def _overlay(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Nested sections merge key by key; a model description (and any list) replaces the base's whole."""
    merged = dict(base)
    for key, value in update.items():
        nested = isinstance(value, Mapping) and isinstance(merged.get(key), Mapping) and key not in WHOLE_SECTIONS
        merged[key] = _overlay(merged[key], value) if nested else value
    return merged


def check_validation_config(section: Mapping[str, Any]) -> None:
    """Refuses what would fail only after the first epoch (a wrong kind, metric or photo split)."""
    if section["kind"] not in VALIDATION_KINDS:
        raise ValueError(f"unknown validation.kind {section['kind']!r}; choose one of {VALIDATION_KINDS}")
    if section["metric"] not in VALIDATION_METRICS:
        raise ValueError(f"unknown validation.metric {section['metric']!r}; choose one of {VALIDATION_METRICS}")
    if section["photos"] not in ("train", "held_out"):
        raise ValueError(f"validation.photos must be 'train' or 'held_out', got {section['photos']!r}")
    packages = section["packages"]
    if packages is not None and (not isinstance(packages, list) or not set(packages) <= set(PHOTOS)):
        raise ValueError(f"validation.packages must be a list of photo sources ({', '.join(PHOTOS)}), "
                         f"got {packages!r}")
    for key in ("scenes", "frames", "every"):
        if not isinstance(section[key], int) or section[key] < (0 if key == "scenes" else 1):
            raise ValueError(f"validation.{key} must be a whole number >= {0 if key == 'scenes' else 1}, "
                             f"got {section[key]!r}")


def load_config(source: Optional[str | Mapping[str, Any]] = None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Defaults <- preset file (or dict) <- ``section.key=value`` overrides; the stage name is checked."""
    config = copy.deepcopy(DEFAULTS)
    if source is not None:
        config = deep_merge(config, _preset_with_bases(source))
    for text in overrides:
        config = deep_merge(config, parse_override(text))
    train = config["train"]
    for key in ("lr", "backbone_lr_multiplier", "weight_decay", "lr_drop_factor"):
        train[key] = float(train[key])  # YAML reads "3e-4" (no dot) as a string
    if config["stage"] not in STAGES:
        raise ValueError(f"unknown stage {config['stage']!r}; choose one of {STAGES}")
    if train["target_attention"] not in TARGET_CELLS:
        raise ValueError(f"unknown train.target_attention {train['target_attention']!r}; "
                         f"choose one of {tuple(TARGET_CELLS)}")
    if train["score_label"] not in SCORE_LABELS:
        raise ValueError(f"unknown train.score_label {train['score_label']!r}; choose one of {SCORE_LABELS}")
    for key in ("epochs", "lr_drop_epoch"):  # the scheduler divides by the drop epoch after the first epoch
        if isinstance(train[key], bool) or not isinstance(train[key], int) or train[key] < 1:
            raise ValueError(f"train.{key} must be a whole number >= 1, got {train[key]!r}")
    check_validation_config(config["validation"])
    return config
