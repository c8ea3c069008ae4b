"""Inference backends behind one interface; pick one by name."""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import torch

from ..checkpoint import LoadedCheckpoint, model_from_checkpoint
from .base import InferenceBackend, InferenceOutput
from .torch_backend import TorchBackend

BackendFactory = Callable[..., InferenceBackend]
_FACTORIES: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make a backend selectable by name (the CLI, the node and the evaluator use these names)."""
    _FACTORIES[name] = factory


def available_backends() -> list[str]:
    return sorted(_FACTORIES)


def _torch_factory(checkpoint: LoadedCheckpoint, device: Union[str, torch.device] = "cpu",
                   precision: Optional[str] = None, use_cache: bool = True, **_: Any) -> TorchBackend:
    return TorchBackend(model_from_checkpoint(checkpoint), device=device, dtype=precision, use_cache=use_cache)


register_backend("torch", _torch_factory)


def create_backend(name: str, checkpoint: LoadedCheckpoint, **options: Any) -> InferenceBackend:
    if name not in _FACTORIES:
        raise ValueError(f"unknown backend {name!r}; available: {available_backends()}")
    return _FACTORIES[name](checkpoint, **options)


__all__ = ["InferenceBackend", "InferenceOutput", "TorchBackend", "available_backends", "create_backend",
           "register_backend"]
