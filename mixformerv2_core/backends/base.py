"""The interface every inference backend implements for the tracker."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Optional, Protocol, Sequence, Union

import numpy as np
import torch

from ..config import CropSpec

# Host crops are NumPy arrays; a backend that opted into device crops also receives tensors on its device.
NetworkInput = Union[np.ndarray, torch.Tensor]


@dataclass
class InferenceOutput:
    pred_boxes: np.ndarray  # (N, 4) normalised cxcywh in the search crop
    score_logits: np.ndarray  # (N,) raw score logits (+inf when the network has no score head)


class InferenceBackend(Protocol):
    """Holds each target's templates (or their cached keys/values) and runs batched search steps.

    ``crop_spec`` is all the tracker reads of the network (crop sizes, hence its row of the variant table);
    backends may describe their network further (the registered ones keep its ``ModelConfig`` as ``config``).
    """

    crop_spec: CropSpec

    def set_templates(self, key: Hashable, template: NetworkInput, online_template: NetworkInput) -> None:
        """Templates are ``3xHtxWt`` normalised float32 arrays (tensors on ``crop_device`` with device crops)."""

    def remove(self, key: Hashable) -> None: ...

    def clear(self) -> None: ...

    def infer(self, keys: Sequence[Hashable], search: NetworkInput) -> InferenceOutput:
        """``search`` is ``Nx3xHsxWs``, one row per key in ``keys``: a float32 array, or with device crops the
        tensor :meth:`DeviceCropBackend.search_input` returned. A key may repeat (a lost target's wide search
        runs several windows against its one set of templates).
        """


class DeviceCropBackend(InferenceBackend, Protocol):
    """Opt-in of a backend whose network runs on a torch device: the tracker then uploads each frame once and
    cuts every crop on that device, straight into the backend's own input tensor (no trip through NumPy).

    ``crop_device`` is ``None`` while the backend has not opted in (the tracker then crops on the host).
    """

    crop_device: Optional[torch.device]

    def search_input(self, batch: int) -> torch.Tensor:
        """The ``batch x 3 x Hs x Ws`` tensor on ``crop_device`` that the next ``infer`` of that batch size reads;
        the tracker fills it in place and passes it to ``infer``.
        """


def crop_device(backend: InferenceBackend) -> Optional[torch.device]:
    """Where the tracker should cut this backend's crops: a torch device, or ``None`` for host (NumPy) crops."""
    return getattr(backend, "crop_device", None)
