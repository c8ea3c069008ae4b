"""Inference backends behind one interface; pick one by name."""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import torch

from ..checkpoint import LoadedCheckpoint, model_from_checkpoint
from .base import DeviceCropBackend, InferenceBackend, InferenceOutput, crop_device
from .cuda_graph_backend import cuda_graph_factory
from .onnx_backend import onnx_factory, onnx_int8_factory
from .openvino_backend import openvino_factory, openvino_int8_factory
from .torch_backend import TorchBackend

BackendFactory = Callable[..., InferenceBackend]
_FACTORIES: dict[str, BackendFactory] = {}
_BOX_TOLERANCES: dict[str, float] = {}


def register_backend(name: str, factory: BackendFactory, box_tolerance: float) -> None:
    """Make a backend selectable by name (the CLI, the node and the evaluator use these names).

    ``box_tolerance`` is the backend's promise: the largest difference of a normalised box coordinate from the
    PyTorch float32 network on the same inputs (the backend contract test holds every backend to it).
    """
    _FACTORIES[name] = factory
    _BOX_TOLERANCES[name] = float(box_tolerance)


def box_tolerance(name: str) -> float:
    return _BOX_TOLERANCES[name]


def available_backends() -> list[str]:
    return sorted(_FACTORIES)


def _torch_factory(checkpoint: LoadedCheckpoint, device: Union[str, torch.device] = "cpu",
                   precision: Optional[str] = None, use_cache: bool = True, threads: Optional[int] = None,
                   device_crops: bool = False, **_: Any) -> TorchBackend:
    if threads:
        torch.set_num_threads(int(threads))  # process-wide: PyTorch has one intra-op pool
    return TorchBackend(model_from_checkpoint(checkpoint), device=device, dtype=precision, use_cache=use_cache,
                        device_crops=device_crops)


register_backend("torch", _torch_factory, box_tolerance=1e-5)
register_backend("onnx", onnx_factory, box_tolerance=1e-4)  # onnxruntime is imported only when created
register_backend("onnx-int8", onnx_int8_factory, box_tolerance=0.05)  # recipe per CPU, dynamic activations
register_backend("openvino", openvino_factory, box_tolerance=1e-4)  # openvino is imported only when created
register_backend("openvino-int8", openvino_int8_factory, box_tolerance=0.05)  # NNCF static INT8 (calibrated)
register_backend("torch-cudagraph", cuda_graph_factory, box_tolerance=1e-3)  # GPU only; not yet run on a GPU


def create_backend(name: str, checkpoint: LoadedCheckpoint, **options: Any) -> InferenceBackend:
    if name not in _FACTORIES:
        raise ValueError(f"unknown backend {name!r}; available: {available_backends()}")
    return _FACTORIES[name](checkpoint, **options)


__all__ = ["DeviceCropBackend", "InferenceBackend", "InferenceOutput", "TorchBackend", "available_backends",
           "box_tolerance", "create_backend", "crop_device", "register_backend"]
