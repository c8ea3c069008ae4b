"""PyTorch inference backend (CPU or CUDA, fp32 or half precision)."""
from __future__ import annotations

import copy
from typing import Hashable, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from torch import nn

from ..models.mixformerv2 import MixFormerV2
from .base import InferenceOutput, NetworkInput
from .template_store import TemplateStore, write_kv_slot

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
          "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def resolve_device(device: Union[str, torch.device]) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device} was requested but CUDA is not available in this PyTorch build/machine")
    return device


def resolve_dtype(dtype: Union[str, torch.dtype, None], device: torch.device) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        if dtype.lower() not in DTYPES:
            raise ValueError(f"unknown precision {dtype!r}; choose one of {sorted(DTYPES)}")
        dtype = DTYPES[dtype.lower()]
    if dtype == torch.float16 and device.type == "cpu":
        raise ValueError("float16 inference is only offered on CUDA; use float32 (or bfloat16) on CPU")
    return dtype


def as_network_input(value: NetworkInput, device: torch.device, dtype: torch.dtype) -> Tensor:
    """A host array or a tensor as a tensor on ``device`` in ``dtype`` (no copy when it already is one)."""
    if isinstance(value, Tensor):
        return value.to(device, dtype)
    return torch.from_numpy(np.ascontiguousarray(value)).to(device, dtype, non_blocking=True)


class SearchInputs:
    """One reused ``batch x 3 x S x S`` input tensor per batch size, for backends that take device crops."""

    def __init__(self, size: int, device: torch.device, dtype: torch.dtype) -> None:
        self._shape, self._device, self._dtype = (3, size, size), device, dtype
        self._buffers: dict[int, Tensor] = {}

    def __call__(self, batch: int) -> Tensor:
        if batch not in self._buffers:
            with torch.inference_mode(False):  # a normal tensor, so that crops may be written in outside inference
                self._buffers[batch] = torch.zeros((batch,) + self._shape, device=self._device, dtype=self._dtype)
        return self._buffers[batch]


def concat_image_pairs(entries: list) -> tuple[Tensor, Tensor]:
    return torch.cat([e[0] for e in entries]), torch.cat([e[1] for e in entries])


def write_image_pair_slot(batch: tuple[Tensor, Tensor], slot: int, entry: tuple[Tensor, Tensor]) -> None:
    batch[0][slot] = entry[0][0]
    batch[1][slot] = entry[1][0]


class TorchBackend:
    """Runs the network in PyTorch.

    With ``use_cache`` (default) each template update stores the templates' per-layer keys/values and every
    frame runs only the search and prediction tokens (the last block for the prediction tokens alone);
    without it every frame runs the official full forward. The full forward also drives any network with the
    same call (``model(template, online_template, search)`` -> ``pred_boxes`` and, if scored, ``pred_scores``)
    whose ``config`` has a ``crop_spec``, such as a training teacher. With ``device_crops`` the tracker cuts crops on
    ``device`` into :meth:`search_input` (off by default: on a CPU the NumPy/OpenCV crop is faster).
    """

    def __init__(
        self,
        model: Union[MixFormerV2, nn.Module],
        device: Union[str, torch.device] = "cpu",
        dtype: Union[str, torch.dtype, None] = None,
        use_cache: bool = True,
        device_crops: bool = False,
    ) -> None:
        if use_cache and not isinstance(model, MixFormerV2):
            raise ValueError(f"cached templates need a MixFormerV2 network; run a {type(model).__name__} "
                             "with use_cache=False (the full forward)")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        first = next(model.parameters())
        if first.device != self.device or first.dtype != self.dtype:
            model = copy.deepcopy(model)  # never convert a network that its owner may still use elsewhere
        self.model = model.to(self.device, self.dtype).eval()
        self.config = model.config
        self.crop_spec = model.config.crop_spec
        self.use_cache = use_cache
        self.crop_device: Optional[torch.device] = self.device if device_crops else None
        self._search_inputs = SearchInputs(self.crop_spec.search_size, self.device, self.dtype)
        if use_cache:
            self._templates = TemplateStore(lambda kvs: torch.cat(kvs, dim=2), write_kv_slot)
        else:
            self._templates = TemplateStore(concat_image_pairs, write_image_pair_slot)

    def search_input(self, batch: int) -> Tensor:
        """The input tensor device crops are cut into (see ``backends.base.DeviceCropBackend``)."""
        return self._search_inputs(batch)

    def _to_tensor(self, value: NetworkInput) -> Tensor:
        return as_network_input(value, self.device, self.dtype)

    @torch.inference_mode()
    def set_templates(self, key: Hashable, template: NetworkInput, online_template: NetworkInput) -> None:
        t = self._to_tensor(template).unsqueeze(0)
        o = self._to_tensor(online_template).unsqueeze(0)
        self._templates.set(key, self.model.encode_templates(t, o) if self.use_cache else (t, o))

    def remove(self, key: Hashable) -> None:
        self._templates.remove(key)

    def clear(self) -> None:
        self._templates.clear()

    @torch.inference_mode()
    def infer(self, keys: Sequence[Hashable], search: NetworkInput) -> InferenceOutput:
        batch = self._templates.batched(keys)
        s = self._to_tensor(search)
        if self.use_cache:
            out = self.model.forward_search(s, batch, trim_last_block=True)
        else:
            out = self.model(batch[0], batch[1], s)
        boxes = out["pred_boxes"][:, 0].float().cpu().numpy()
        if "pred_scores" in out:
            scores = out["pred_scores"].float().cpu().numpy()
        else:
            scores = np.full(len(keys), np.inf, dtype=np.float32)
        return InferenceOutput(pred_boxes=boxes, score_logits=scores)
