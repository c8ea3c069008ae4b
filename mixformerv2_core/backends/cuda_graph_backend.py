"""GPU backend: the cached search step captured in one CUDA graph per batch size, fp16/bf16/fp32.

A captured graph replays every kernel of the step with a single launch, which is what bounds a small
network at batch 1 on a GPU. Inputs and outputs live in static buffers owned by the graph; the batch of
cached template keys/values is one of them and is rewritten only when targets or templates change.

NOT RUN ON A GPU YET: no GPU was available while this was written; on machines without CUDA creating this
backend raises a ``RuntimeError``. The graph it captures (``export.graphs.SearchStepGraph``) is tested on CPU.
"""
from __future__ import annotations

from typing import Any, Hashable, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from ..checkpoint import LoadedCheckpoint, model_from_checkpoint
from ..export.graphs import SearchStepGraph, TemplateEncoderGraph
from ..models.mixformerv2 import MixFormerV2
from .base import InferenceOutput
from .torch_backend import resolve_dtype

WARMUP_RUNS = 3  # on a side stream before capture, as CUDA graph capture requires


class _CapturedStep:
    def __init__(self, step: SearchStepGraph, search: Tensor, kv: Tensor) -> None:
        self.search, self.kv = search, kv
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(WARMUP_RUNS):
                step(self.search, self.kv)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.boxes, _, self.scores = step(self.search, self.kv)


class CudaGraphBackend:
    """Same contract as ``TorchBackend`` (cached path), with the per-frame step replayed from CUDA graphs."""

    def __init__(self, model: MixFormerV2, device: Union[str, torch.device] = "cuda",
                 dtype: Union[str, torch.dtype, None] = "float16") -> None:
        device = torch.device(device)
        if device.type != "cuda" or not torch.cuda.is_available():
            raise RuntimeError("the torch-cudagraph backend needs a CUDA device and a CUDA build of PyTorch")
        self.device, self.dtype = device, resolve_dtype(dtype, device)
        self.config = model.config
        model = model.to(device, self.dtype).eval()
        self._encoder = TemplateEncoderGraph(model)
        self._step = SearchStepGraph(model).to(device, self.dtype).eval()
        self._entries: dict[Hashable, Tensor] = {}
        self._captured: dict[int, _CapturedStep] = {}
        self._batch_keys: Optional[tuple] = None

    @torch.inference_mode()
    def set_templates(self, key: Hashable, template: np.ndarray, online_template: np.ndarray) -> None:
        t = torch.from_numpy(np.ascontiguousarray(template)).to(self.device, self.dtype)[None]
        o = torch.from_numpy(np.ascontiguousarray(online_template)).to(self.device, self.dtype)[None]
        self._entries[key] = self._encoder(t, o)
        if self._batch_keys is not None and key in self._batch_keys:
            self._captured[len(self._batch_keys)].kv[:, :, self._batch_keys.index(key)] = self._entries[key][:, :, 0]

    def remove(self, key: Hashable) -> None:
        self._entries.pop(key, None)
        self._batch_keys = None

    def clear(self) -> None:
        self._entries.clear()
        self._batch_keys = None

    def _step_for(self, keys: tuple) -> _CapturedStep:
        batch = len(keys)
        missing = [key for key in keys if key not in self._entries]
        if missing:
            raise KeyError(f"no templates set for {missing}")
        with torch.inference_mode():
            kv = torch.cat([self._entries[key] for key in keys], dim=2)
            if batch not in self._captured:
                size = self.config.search_size
                search = torch.zeros(batch, 3, size, size, device=self.device, dtype=self.dtype)
                self._captured[batch] = _CapturedStep(self._step, search, kv.clone())
            elif keys != self._batch_keys:
                self._captured[batch].kv.copy_(kv)
        self._batch_keys = keys
        return self._captured[batch]

    def infer(self, keys: Sequence[Hashable], search: np.ndarray) -> InferenceOutput:
        step = self._step_for(tuple(keys))
        with torch.inference_mode():
            step.search.copy_(torch.from_numpy(np.ascontiguousarray(search)).to(self.device, non_blocking=True))
            step.graph.replay()
            boxes = step.boxes.float().cpu().numpy()
            scores = step.scores.float().cpu().numpy()
        return InferenceOutput(pred_boxes=boxes.copy(), score_logits=scores.copy())


def cuda_graph_factory(checkpoint: LoadedCheckpoint, device: Union[str, torch.device] = "cuda",
                       precision: Optional[str] = "float16", **_: Any) -> CudaGraphBackend:
    device = "cuda" if str(device) == "cpu" else device
    return CudaGraphBackend(model_from_checkpoint(checkpoint), device=device, dtype=precision or "float16")
