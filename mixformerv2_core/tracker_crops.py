"""Where the tracker cuts its network inputs: on the host (NumPy/OpenCV) or on the backend's torch device.

Both offer the same three steps (take the frame, cut the search batch, cut one template), so the tracker's
box mapping, clipping and template bookkeeping stay one code path whichever side crops. The device side
uploads the frame once per step and writes all search crops straight into the backend's input tensor.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from .backends.base import DeviceCropBackend, InferenceBackend, crop_device
from .geometry import CropWindow
from .preprocessing import fused_cropper
from .torch_crop import crop_and_normalize_torch, crop_batch_torch

if TYPE_CHECKING:
    from .tracker import TrackerParams


class HostCrops:
    """Crops with the fused NumPy/OpenCV path into a reused ``Nx3xSxS`` float32 batch (bit-identical to the
    reference crop). Reads the colour order from the tracker's parameters at every crop.
    """

    def __init__(self, params: TrackerParams, search_size: int) -> None:
        self._params = params
        self._search = np.empty((0, 3, search_size, search_size), dtype=np.float32)

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def search_batch(self, frame: np.ndarray, windows: Sequence[CropWindow]) -> np.ndarray:
        if self._search.shape[0] != len(windows):
            self._search = np.empty((len(windows),) + self._search.shape[1:], dtype=np.float32)
        cropper = fused_cropper(self._params.color_order)
        for index, window in enumerate(windows):
            cropper(frame, window, self._search[index])
        return self._search

    def template(self, frame: np.ndarray, window: CropWindow) -> np.ndarray:
        return fused_cropper(self._params.color_order)(frame, window)


class DeviceCrops:
    """Crops with PyTorch ops on the backend's device (within one grey level of the reference crop)."""

    def __init__(self, backend: DeviceCropBackend, device: torch.device, params: TrackerParams) -> None:
        self._backend = backend
        self.device = device
        self._params = params

    def prepare(self, frame: np.ndarray) -> Tensor:
        """The frame on the device (the one upload of this step; a zero-copy view on the CPU)."""
        return torch.from_numpy(np.ascontiguousarray(frame)).to(self.device)

    def search_batch(self, frame: Tensor, windows: Sequence[CropWindow]) -> Tensor:
        out = self._backend.search_input(len(windows))
        return crop_batch_torch(frame, windows, self._params.color_order, out=out)

    def template(self, frame: Tensor, window: CropWindow) -> Tensor:
        return crop_and_normalize_torch(frame, window, self._params.color_order)


Crops = Union[HostCrops, DeviceCrops]


def crops_for(backend: InferenceBackend, params: TrackerParams, search_size: int) -> Crops:
    """Device crops when the backend asks for them (``crop_device``), host crops otherwise."""
    device = crop_device(backend)
    if device is None:
        return HostCrops(params, search_size)
    return DeviceCrops(backend, torch.device(device), params)  # type: ignore[arg-type]
