"""PyTorch inference backend (CPU or CUDA, fp32 or half precision)."""
from __future__ import annotations

import copy
from typing import Hashable, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from ..models.mixformerv2 import MixFormerV2
from .base import InferenceOutput

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


class TorchBackend:
    """Runs the network in PyTorch.

    With ``use_cache`` (default) each template update stores the templates' per-layer keys/values and every
    frame runs only the search and prediction tokens; without it every frame runs the official full forward.
    """

    def __init__(
        self,
        model: MixFormerV2,
        device: Union[str, torch.device] = "cpu",
        dtype: Union[str, torch.dtype, None] = None,
        use_cache: bool = True,
    ) -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        first = next(model.parameters())
        if first.device != self.device or first.dtype != self.dtype:
            model = copy.deepcopy(model)  # never convert a network that its owner may still use elsewhere
        self.model = model.to(self.device, self.dtype).eval()
        self.config = model.config
        self.use_cache = use_cache
        self._entries: dict[Hashable, Union[Tensor, tuple[Tensor, Tensor]]] = {}
        self._batch_keys: Optional[tuple] = None
        self._batch: Union[Tensor, tuple[Tensor, Tensor], None] = None

    def _to_tensor(self, array: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device, self.dtype, non_blocking=True)

    @torch.inference_mode()
    def set_templates(self, key: Hashable, template: np.ndarray, online_template: np.ndarray) -> None:
        t = self._to_tensor(template).unsqueeze(0)
        o = self._to_tensor(online_template).unsqueeze(0)
        entry = self.model.encode_templates(t, o) if self.use_cache else (t, o)
        self._entries[key] = entry
        if self._batch_keys is not None and key in self._batch_keys:
            slot = self._batch_keys.index(key)
            if self.use_cache:
                self._batch[:, :, slot] = entry[:, :, 0]
            else:
                self._batch[0][slot] = t[0]
                self._batch[1][slot] = o[0]

    def remove(self, key: Hashable) -> None:
        self._entries.pop(key, None)
        self._batch_keys = self._batch = None

    def clear(self) -> None:
        self._entries.clear()
        self._batch_keys = self._batch = None

    def _batched(self, keys: tuple) -> Union[Tensor, tuple[Tensor, Tensor]]:
        if keys != self._batch_keys:
            missing = [key for key in keys if key not in self._entries]
            if missing:
                raise KeyError(f"no templates set for {missing}")
            entries = [self._entries[key] for key in keys]
            if self.use_cache:
                self._batch = torch.cat(entries, dim=2)
            else:
                self._batch = (torch.cat([e[0] for e in entries]), torch.cat([e[1] for e in entries]))
            self._batch_keys = keys
        return self._batch

    @torch.inference_mode()
    def infer(self, keys: Sequence[Hashable], search: np.ndarray) -> InferenceOutput:
        batch = self._batched(tuple(keys))
        s = self._to_tensor(search)
        if self.use_cache:
            out = self.model.forward_search(s, batch)
        else:
            out = self.model(batch[0], batch[1], s)
        boxes = out["pred_boxes"][:, 0].float().cpu().numpy()
        if "pred_scores" in out:
            scores = out["pred_scores"].float().cpu().numpy()
        else:
            scores = np.full(len(keys), np.inf, dtype=np.float32)
        return InferenceOutput(pred_boxes=boxes, score_logits=scores)
