"""GPU backend: the cached search step captured in one CUDA graph per batch size, fp16/bf16/fp32.

A captured graph replays every kernel of the step with a single launch, which is what bounds a small
network at batch 1 on a GPU. Inputs and outputs live in static buffers owned by the graph; the batch of
cached template keys/values is one of them and is rewritten only when targets or templates change. By
default the tracker cuts its crops on the GPU straight into the graph's search input (``device_crops``).

NOT RUN ON A GPU YET: no GPU was available while this was written; on machines without CUDA creating this
backend raises a ``RuntimeError``. The graph it captures (``export.graphs.SearchStepGraph``) and the device
crops are tested on CPU.
"""
from __future__ import annotations

from typing import Any, Hashable, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from ..checkpoint import LoadedCheckpoint, model_from_checkpoint
from ..export.graphs import SearchStepGraph, TemplateEncoderGraph
from ..models.mixformerv2 import MixFormerV2
from .base import InferenceOutput, NetworkInput
from .template_store import slots_of
from .torch_backend import SearchInputs, as_network_input, resolve_dtype

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
    """Same contract as ``TorchBackend`` (cached path), with the per-frame step replayed from CUDA graphs.

    ``device_crops`` (default on) has the tracker crop on the GPU into the captured graph's search input.
    """

    def __init__(self, model: MixFormerV2, device: Union[str, torch.device] = "cuda",
                 dtype: Union[str, torch.dtype, None] = "float16", device_crops: bool = True) -> None:
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
        self.crop_device: Optional[torch.device] = self.device if device_crops else None
        self._search_inputs = SearchInputs(self.config.search_size, self.device, self.dtype)

    def search_input(self, batch: int) -> Tensor:
        """The captured graph's search input of this batch size (device crops are cut straight into it)."""
        return self._search_inputs(batch)

    @torch.inference_mode()
    def set_templates(self, key: Hashable, template: NetworkInput, online_template: NetworkInput) -> None:
        t = as_network_input(template, self.device, self.dtype)[None]
        o = as_network_input(online_template, self.device, self.dtype)[None]
        self._entries[key] = self._encoder(t, o)
        for slot in slots_of(self._batch_keys, key):
            self._captured[len(self._batch_keys)].kv[:, :, slot] = self._entries[key][:, :, 0]

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
                self._captured[batch] = _CapturedStep(self._step, self.search_input(batch), kv.clone())
            elif keys != self._batch_keys:
                self._captured[batch].kv.copy_(kv)
        self._batch_keys = keys
        return self._captured[batch]

    def infer(self, keys: Sequence[Hashable], search: NetworkInput) -> InferenceOutput:
        step = self._step_for(tuple(keys))
        with torch.inference_mode():
            if search is not step.search:  # device crops are cut straight into it; host crops are copied in
                source = search if isinstance(search, Tensor) else torch.from_numpy(np.ascontiguousarray(search))
                step.search.copy_(source)
            step.graph.replay()
            boxes = step.boxes.float().cpu().numpy()
            scores = step.scores.float().cpu().numpy()
        return InferenceOutput(pred_boxes=boxes.copy(), score_logits=scores.copy())


def cuda_graph_factory(checkpoint: LoadedCheckpoint, device: Union[str, torch.device] = "cuda",
                       precision: Optional[str] = "float16", device_crops: bool = True, **_: Any) -> CudaGraphBackend:
    device = "cuda" if str(device) == "cpu" else device
    return CudaGraphBackend(model_from_checkpoint(checkpoint), device=device, dtype=precision or "float16",
                            device_crops=device_crops)
