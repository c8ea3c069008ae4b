"""GPU backend: the cached search step captured in one CUDA graph per batch size, fp16/bf16/fp32.

A captured graph replays every kernel of the step with a single launch, which is what bounds a small
network at batch 1 on a GPU. Inputs and outputs live in static buffers owned by the graph; the batch of
cached template keys/values is one of them and is rewritten only when targets or templates change. By
default the tracker cuts its crops on the GPU straight into the graph's search input (``device_crops``).

NOT RUN ON A GPU YET: no GPU was available while this was written; on machines without CUDA creating this
backend raises a ``RuntimeError``. The graph it captures (``export.graphs.SearchStepGraph``), the device
crops and the template bookkeeping over static buffers (``capture=False``) are tested on CPU.
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
from .template_store import KeepsTemplates, TemplateStore, write_kv_slot
from .torch_backend import SearchInputs, as_network_input, resolve_dtype

WARMUP_RUNS = 3  # on a side stream before capture, as CUDA graph capture requires


class _CapturedStep:
    """The search step captured in a CUDA graph over static ``search``/``kv`` inputs; ``run`` replays it."""

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

    def run(self) -> tuple[Tensor, Tensor]:
        self.graph.replay()
        return self.boxes, self.scores


class _EagerStep:
    """The same step over the same static inputs, run op by op (``capture=False``: checks a capture against
    plain execution, and runs the backend's bookkeeping where CUDA is missing).
    """

    def __init__(self, step: SearchStepGraph, search: Tensor, kv: Tensor) -> None:
        self.search, self.kv, self._step = search, kv, step

    def run(self) -> tuple[Tensor, Tensor]:
        boxes, _, scores = self._step(self.search, self.kv)
        return boxes, scores


class CudaGraphBackend(KeepsTemplates):
    """Same contract as ``TorchBackend`` (cached path), with the per-frame step replayed from CUDA graphs.

    Each batch size has one step with static inputs; the template store's batch of keys/values *is* that
    step's static ``kv`` input, so a template update rewrites its slot in the graph's input in place and a
    change of targets copies the new batch in (``TemplateStore`` does the bookkeeping, as for every backend).
    ``device_crops`` (default on) has the tracker crop on the GPU into the captured graph's search input.
    ``capture=False`` runs the step eagerly on the same buffers (on any device).
    """

    def __init__(self, model: MixFormerV2, device: Union[str, torch.device] = "cuda",
                 dtype: Union[str, torch.dtype, None] = "float16", device_crops: bool = True,
                 capture: bool = True) -> None:
        device = torch.device(device)
        if capture and (device.type != "cuda" or not torch.cuda.is_available()):
            raise RuntimeError("the torch-cudagraph backend needs a CUDA device and a CUDA build of PyTorch")
        self.device, self.dtype = device, resolve_dtype(dtype, device)
        self.config = model.config
        self.crop_spec = model.config.crop_spec
        model = model.to(device, self.dtype).eval()
        self._encoder = TemplateEncoderGraph(model)
        self._step = SearchStepGraph(model).to(device, self.dtype).eval()
        self._make_step = _CapturedStep if capture else _EagerStep
        self._steps: dict[int, Union[_CapturedStep, _EagerStep]] = {}
        self._templates: TemplateStore[Tensor, Tensor] = TemplateStore(self._static_batch, write_kv_slot)
        self.crop_device: Optional[torch.device] = self.device if device_crops else None
        self._search_inputs = SearchInputs(self.crop_spec.search_size, self.device, self.dtype)

    def search_input(self, batch: int) -> Tensor:
        """The captured graph's search input of this batch size (device crops are cut straight into it)."""
        return self._search_inputs(batch)

    def _static_batch(self, entries: list) -> Tensor:
        """The store's batch builder: the targets' keys/values copied into (or, at the first use of this batch
        size, captured as) the static input of that batch size's step.
        """
        kv = torch.cat(entries, dim=2)
        step = self._steps.get(len(entries))
        if step is None:
            step = self._steps[len(entries)] = self._make_step(self._step, self.search_input(len(entries)), kv)
        else:
            step.kv.copy_(kv)
        return step.kv

    @torch.inference_mode()
    def set_templates(self, key: Hashable, template: NetworkInput, online_template: NetworkInput) -> None:
        t = as_network_input(template, self.device, self.dtype)[None]
        o = as_network_input(online_template, self.device, self.dtype)[None]
        self._templates.set(key, self._encoder(t, o))

    def infer(self, keys: Sequence[Hashable], search: NetworkInput) -> InferenceOutput:
        with torch.inference_mode():
            self._templates.batched(keys)
            step = self._steps[len(keys)]
            if search is not step.search:  # device crops are cut straight into it; host crops are copied in
                source = search if isinstance(search, Tensor) else torch.from_numpy(np.ascontiguousarray(search))
                step.search.copy_(source)
            boxes, scores = step.run()
            boxes = boxes.float().cpu().numpy()
            scores = scores.float().cpu().numpy()
        return InferenceOutput(pred_boxes=boxes.copy(), score_logits=scores.copy())


def cuda_graph_factory(checkpoint: LoadedCheckpoint, device: Union[str, torch.device] = "cuda",
                       precision: Optional[str] = "float16", device_crops: bool = True, **_: Any) -> CudaGraphBackend:
    device = "cuda" if str(device) == "cpu" else device
    return CudaGraphBackend(model_from_checkpoint(checkpoint), device=device, dtype=precision or "float16",
                            device_crops=device_crops)
