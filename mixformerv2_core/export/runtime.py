"""ONNX Runtime sessions with explicit providers and thread counts (imported lazily: onnxruntime is optional)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence, Union


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RuntimeError("the ONNX backend needs onnxruntime: pip install onnxruntime==1.31.1") from error
    return onnxruntime


def session_options(threads: Optional[int] = None, spinning: bool = False) -> Any:
    """Sequential graph execution on ``threads`` intra-op threads.

    Worker threads do not spin-wait between runs unless asked to: on a robot the tracker shares a few
    cores with other nodes, and spinning threads would take their CPU time (and PyTorch's, in benchmarks).
    """
    ort = _ort()
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = int(threads) if threads else (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    return options


def providers_for(device: str) -> list:
    """Execution providers for ``device`` ("cpu", "cuda", "cuda:N", "tensorrt"), best first.

    Asking for a GPU that this onnxruntime build cannot use is an error, not a silent CPU fallback.
    """
    available = set(_ort().get_available_providers())
    kind, _, index = str(device).partition(":")
    if kind == "cpu":
        return ["CPUExecutionProvider"]
    if kind not in ("cuda", "tensorrt"):
        raise ValueError(f"unknown ONNX Runtime device {device!r}; use cpu, cuda[:N] or tensorrt[:N]")
    gpu_options = {"device_id": int(index or 0)}
    chosen: list = []
    if kind == "tensorrt" or "TensorrtExecutionProvider" in available:
        if "TensorrtExecutionProvider" in available:
            chosen.append(("TensorrtExecutionProvider", dict(gpu_options, trt_fp16_enable=True)))
        elif kind == "tensorrt":
            raise RuntimeError(f"TensorRT was requested but this onnxruntime offers {sorted(available)}")
    if "CUDAExecutionProvider" not in available:
        raise RuntimeError(f"device {device} needs onnxruntime-gpu; this onnxruntime offers {sorted(available)}")
    chosen.append(("CUDAExecutionProvider", gpu_options))
    return chosen + ["CPUExecutionProvider"]


def make_session(path: Union[str, Path], device: str = "cpu", threads: Optional[int] = None,
                 providers: Optional[Sequence] = None, spinning: bool = False) -> Any:
    ort = _ort()
    return ort.InferenceSession(str(path), sess_options=session_options(threads, spinning),
                                providers=list(providers) if providers else providers_for(device))


def cpu_session(path: Union[str, Path], threads: Optional[int] = None) -> Any:
    return make_session(path, "cpu", threads)
