"""Checkpoint I/O: the released official files and our own self-describing format.

Official files (``mixformerv2_base.pth.tar`` / ``mixformerv2_small.pth.tar``) are dicts whose ``'net'`` entry
is the state dict; they carry no configuration, so the architecture is inferred from tensor shapes. Our
format stores the ``ModelConfig`` next to the weights, so a file alone rebuilds its model.
"""
from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import torch
from torch import Tensor, nn

from .atomic import atomic_path
from .errors import InputError
from .config import ModelConfig, variant_config, variant_name
from .models.mixformerv2 import MixFormerV2

FORMAT_NAME = "mixformerv2_ros.checkpoint"
FORMAT_VERSION = 1
PathLike = Union[str, os.PathLike]


class CheckpointError(InputError):
    """A weights file that cannot be used, with a message that says why."""


@dataclass
class LoadedCheckpoint:
    state_dict: dict[str, Tensor]
    config: ModelConfig
    source: str  # "official" or "ours"
    tracker_defaults: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def variant(self) -> Optional[str]:
        return variant_name(self.config)


# ----------------------------------------------------------------------------------------------- reading


class _Inert:
    """Stand-in for classes of the official training code that are pickled next to the weights."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state


_SAFE_GLOBALS = {
    "collections": {"OrderedDict", "defaultdict"},
    "torch._utils": {"_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state"},
    "torch.nn.parameter": {"Parameter"},
    "torch._tensor": {"_rebuild_from_type_v2"},
    "_codecs": {"encode"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy": {"ndarray", "dtype"},
    "builtins": {"set", "frozenset", "slice", "complex", "bytearray"},
}


class _LenientUnpickler(pickle.Unpickler):
    """Loads tensors and plain containers; any other class becomes inert (never executed)."""

    def find_class(self, module: str, name: str) -> Any:
        if name in _SAFE_GLOBALS.get(module, ()):
            return super().find_class(module, name)
        if module == "torch" and (name.endswith("Storage") or name in {"Size", "device", "dtype"}):
            return super().find_class(module, name)
        if module.startswith("numpy.dtypes"):
            return super().find_class(module, name)
        return type(name, (_Inert,), {"__module__": f"unpickled.{module}"})


class _LenientPickleModule:
    Unpickler = _LenientUnpickler
    __name__ = "mixformerv2_lenient_pickle"

    @staticmethod
    def load(file: Any, **kwargs: Any) -> Any:
        return _LenientUnpickler(file, **kwargs).load()


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass  # training checkpoints pickle objects of the training code; read them without running them
    except Exception as error:  # noqa: BLE001 - every failure here means "not a checkpoint"
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({type(error).__name__}: {error})") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_LenientPickleModule)
    except Exception as error:  # noqa: BLE001
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({type(error).__name__}: {error})") from None


def is_training_state(payload: Any) -> bool:
    """A trainer's resumable state (``checkpoints/last.pt``): weights, optimizer and the run's config."""
    return isinstance(payload, Mapping) and {"model", "optimizer", "config"} <= set(payload)


def read_training_state(path: PathLike) -> dict:
    """A trainer's state, loaded as data only (no pickled code runs); ``CheckpointError`` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"training state not found: {path}")
    payload = _torch_load(path)
    if not is_training_state(payload):
        raise CheckpointError(f"{path} is not a training state (expected model, optimizer and config entries)")
    return dict(payload)


def _strip_prefix(state_dict: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    if state_dict and all(key.startswith(prefix) for key in state_dict):
        return {key[len(prefix) :]: value for key, value in state_dict.items()}
    return dict(state_dict)


def _extract_state_dict(payload: Any, path: Path) -> tuple[dict[str, Tensor], str, dict]:
    if isinstance(payload, Mapping) and payload.get("format") == FORMAT_NAME:
        return dict(payload["state_dict"]), "ours", payload
    if is_training_state(payload):
        # A trainer's resumable state: the run config (not a ModelConfig) describes the network, and blocks being
        # pruned may still be in it; guessing the architecture from shapes would get the heads wrong.
        raise CheckpointError(f"{path} is a training state (model + optimizer + run config, e.g. checkpoints/last.pt); "
                              f"turn it into weights the tracker loads with: mixformerv2-train-export {path} OUT.pt")
    if isinstance(payload, Mapping):
        for key in ("net", "state_dict", "model"):
            if isinstance(payload.get(key), Mapping):
                return _strip_prefix(payload[key], "module."), "official", payload
        if payload and all(isinstance(value, Tensor) for value in payload.values()):
            return _strip_prefix(payload, "module."), "official", {}
        keys = ", ".join(sorted(map(str, payload))[:12])
        raise CheckpointError(f"{path} holds no state dict: expected a 'net' entry (official) or our format; top-level keys: {keys}")
    raise CheckpointError(f"{path} holds a {type(payload).__name__}, not a checkpoint dict")


_BLOCK_KEY = re.compile(r"^backbone\.blocks\.(\d+)\.")


def infer_config(state_dict: Mapping[str, Tensor]) -> ModelConfig:
    """Architecture of a MixFormerV2 state dict, read off its tensor shapes.

    The number of heads is not visible in shapes; the released models use 64-dimensional heads.
    """
    required = ("backbone.patch_embed.proj.weight", "backbone.pos_embed_t", "backbone.pos_embed_s",
                "box_head.layers.0.0.weight", "box_head.layers.1.0.weight", "backbone.blocks.0.mlp.fc1.weight")
    missing = [key for key in required if key not in state_dict]
    if missing:
        hint = ""
        if any(key.startswith("box_head.conv1_tl") or key.startswith("backbone.cls_token") for key in state_dict):
            hint = " (it looks like a MixViT/MixFormer-v1 corner-head model, not MixFormerV2)"
        raise CheckpointError(f"not a MixFormerV2 state dict{hint}: missing {', '.join(missing)}")
    patch = state_dict["backbone.patch_embed.proj.weight"]
    embed_dim, patch_size = int(patch.shape[0]), int(patch.shape[-1])
    depth = 1 + max(int(m.group(1)) for key in state_dict if (m := _BLOCK_KEY.match(key)))
    grid_t = round(state_dict["backbone.pos_embed_t"].shape[1] ** 0.5)
    grid_s = round(state_dict["backbone.pos_embed_s"].shape[1] ** 0.5)
    hidden = int(state_dict["backbone.blocks.0.mlp.fc1.weight"].shape[0])
    return ModelConfig(
        embed_dim=embed_dim,
        depth=depth,
        num_heads=max(1, embed_dim // 64) if embed_dim % 64 == 0 else 1,
        mlp_ratio=hidden / embed_dim,
        patch_size=patch_size,
        template_size=grid_t * patch_size,
        search_size=grid_s * patch_size,
        feat_sz=int(state_dict["box_head.layers.1.0.weight"].shape[0]),
        head_hidden_dim=int(state_dict["box_head.layers.0.0.weight"].shape[0]),
        qkv_bias="backbone.blocks.0.attn.qkv.bias" in state_dict,
        score_head=any(key.startswith("score_head.") for key in state_dict),
    )


def expected_layout(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Key -> shape table of a network built from ``config`` (no weights are allocated)."""
    with torch.device("meta"):
        model = MixFormerV2(config)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def describe_mismatch(state_dict: Mapping[str, Tensor], config: ModelConfig, limit: int = 8) -> str:
    """Human-readable difference between a state dict and the layout ``config`` expects ('' if none)."""
    expected = expected_layout(config)
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    wrong = [
        f"{key} {tuple(state_dict[key].shape)} != {shape}"
        for key, shape in expected.items()
        if key in state_dict and tuple(state_dict[key].shape) != shape
    ]
    parts = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", wrong)):
        if items:
            shown = ", ".join(items[:limit]) + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")
            parts.append(f"{len(items)} {label}: {shown}")
    return "; ".join(parts)


def _describe_config(config: ModelConfig) -> str:
    name = variant_name(config)
    label = f"MixFormerV2-{name}" if name else "a custom MixFormerV2"
    return (f"{label} (depth {config.depth}, MLP hidden {config.mlp_hidden_dim}, width {config.embed_dim}, "
            f"template {config.template_size}, search {config.search_size}, {config.feat_sz} bins)")


def read_checkpoint(path: PathLike, variant: Optional[str] = None) -> LoadedCheckpoint:
    """Read and validate a weights file; raise ``CheckpointError`` with the reason when it cannot serve."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    payload = _torch_load(path)
    state_dict, source, container = _extract_state_dict(payload, path)
    if source == "ours":
        config = ModelConfig.from_dict(container["config"])
    else:
        config = infer_config(state_dict)
    if variant is not None:
        requested = variant_config(variant)
        if variant_name(config) != variant_name(requested) or variant_name(config) is None:
            differences = describe_mismatch(state_dict, requested.replace(score_head=config.score_head))
            raise CheckpointError(
                f"{path} holds {_describe_config(config)}, not the requested MixFormerV2-{variant_name(requested)}"
                + (f"; against {variant_name(requested)}: {differences}" if differences else "")
            )
    problems = describe_mismatch(state_dict, config)
    if problems:
        raise CheckpointError(f"{path} does not match {_describe_config(config)}: {problems}")
    return LoadedCheckpoint(
        state_dict=state_dict,
        config=config,
        source=source,
        tracker_defaults=dict(container.get("tracker_defaults") or {}) if source == "ours" else {},
        meta=dict(container.get("meta") or {}) if source == "ours" else {},
    )


def model_from_checkpoint(checkpoint: LoadedCheckpoint, device: Union[str, torch.device] = "cpu") -> MixFormerV2:
    model = MixFormerV2(checkpoint.config)
    model.load_state_dict(checkpoint.state_dict, strict=True)
    return model.to(device).eval()


def load_model(path: PathLike, variant: Optional[str] = None, device: Union[str, torch.device] = "cpu") -> MixFormerV2:
    """An official ``.pth.tar`` or our checkpoint -> the network in eval mode (strict load)."""
    return model_from_checkpoint(read_checkpoint(path, variant), device)


# ----------------------------------------------------------------------------------------------- writing


def atomic_torch_save(obj: Any, path: PathLike) -> None:
    """Write through a temporary file and rename, so an interrupted save never leaves a half file."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_checkpoint(
    model: nn.Module,
    path: PathLike,
    tracker_defaults: Optional[Mapping[str, Any]] = None,
    meta: Optional[Mapping[str, Any]] = None,
) -> Path:
    """Save weights with their configuration (and optional tracker defaults such as the search factor)."""
    config = getattr(model, "config", None)
    if not isinstance(config, ModelConfig):
        raise TypeError("save_checkpoint needs a MixFormerV2 network (with a ModelConfig in .config)")
    state_dict = {key: value.detach().cpu().float() for key, value in model.state_dict().items()}
    atomic_torch_save(
        {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "config": config.to_dict(),
            "state_dict": state_dict,
            "tracker_defaults": dict(tracker_defaults or {}),
            "meta": dict(meta or {}),
        },
        path,
    )
    return Path(path)


def save_official_format(model: nn.Module, path: PathLike) -> Path:
    """Write ``{'net': state_dict}`` like the official trainer (for tools that expect that layout)."""
    atomic_torch_save({"net": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "net_type": "MixFormer"}, path)
    return Path(path)
