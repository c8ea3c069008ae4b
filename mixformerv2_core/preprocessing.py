"""Frame checks and the crop -> normalised network input path."""
from __future__ import annotations

import threading
from typing import Optional, Sequence

import cv2
import numpy as np

from .geometry import CropWindow, crop_window, valid_region

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
COLOR_ORDERS = ("rgb", "bgr")
# Largest padded window (pixels a side) the fused crop lays out in memory: 2048 x 2048 x 3 bytes = 12.6 MB per
# thread. Larger windows that reach past the image (a huge init box) are sampled tap by tap instead, so memory
# never grows with the box.
MAX_PADDED_SIDE = 2048


def check_color_order(color_order: str) -> str:
    order = str(color_order).lower()
    if order not in COLOR_ORDERS:
        raise ValueError(f"color_order must be one of {COLOR_ORDERS}, got {color_order!r}")
    return order


def check_frame(frame: object) -> np.ndarray:
    """Frames are ``HxWx3 uint8`` arrays; anything else is refused with the reason."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array (HxWx3 uint8), got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must have dtype uint8, got {frame.dtype}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must have shape HxWx3, got {frame.shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"frame is empty: shape {frame.shape}")
    return frame


def normalize_crop(crop: np.ndarray, color_order: str, out: Optional[np.ndarray] = None) -> np.ndarray:
    """``HxWx3 uint8`` crop -> ``3xHxW float32`` RGB, ``(x / 255 - mean) / std`` (ImageNet statistics)."""
    rgb = crop[..., ::-1] if color_order == "bgr" else crop
    values = rgb.astype(np.float32) / np.float32(255.0)
    values -= IMAGENET_MEAN
    values /= IMAGENET_STD
    chw = values.transpose(2, 0, 1)
    if out is None:
        return np.ascontiguousarray(chw)
    out[...] = chw
    return out


def normalization_table(color_order: str) -> np.ndarray:
    """``(3, 256)`` float32: row ``c`` is the normalised value of each pixel value ``v`` of input channel ``c``
    of a frame in ``color_order``, computed exactly as :func:`normalize_crop` (a BGR frame's channel 0 is blue).
    """
    levels = np.arange(256, dtype=np.float32) / np.float32(255.0)
    table = ((levels[None, :] - IMAGENET_MEAN[:, None]) / IMAGENET_STD[:, None]).astype(np.float32)
    if check_color_order(color_order) == "bgr":  # input channel c holds colour 2 - c
        table = table[::-1]
    return np.ascontiguousarray(table)


class FusedCropper:
    """Crop + resize + normalise into a caller's ``3xSxS`` float32 buffer without per-frame allocations.

    Equal to ``normalize_crop(geometry.sample_target(...))`` bit for bit: a window inside the image is
    resized straight from a view of the frame; a window that needs padding is first laid into a reusable
    zero-bordered buffer (``cv2.copyMakeBorder``), because sampling past the window's own edge must repeat
    the window's edge pixel (OpenCV ``resize`` semantics), not read the neighbouring image pixel.
    Normalisation is one table look-up (``cv2.LUT``), then one strided copy does HWC -> CHW and colour order.
    A window that needs padding and is wider than :data:`MAX_PADDED_SIDE` is sampled tap by tap
    (:func:`torch_crop.sample_windows_torch`, within one grey level of the reference) instead of being laid out.
    Not thread-safe: use one instance per thread.
    """

    def __init__(self, color_order: str = "rgb") -> None:
        self.color_order = check_color_order(color_order)
        table = normalization_table(self.color_order)
        self._table = np.ascontiguousarray(table.T.reshape(256, 1, 3))  # per input channel, for cv2.LUT
        self._patch = np.zeros((0, 0, 3), dtype=np.uint8)
        self._resized: dict[int, np.ndarray] = {}
        self._normalized: dict[int, np.ndarray] = {}

    def _patch_view(self, size: int) -> np.ndarray:
        if self._patch.shape[0] < size:
            self._patch = np.zeros((size, size, 3), dtype=np.uint8)  # grows only, amortised over frames
        return self._patch[:size, :size]

    def crop_uint8(self, frame: np.ndarray, window: CropWindow) -> np.ndarray:
        """The resized ``SxSx3`` uint8 crop (a reused buffer, valid until the next call with this size)."""
        out_size = window.out_size
        resized = self._resized.get(out_size)
        if resized is None:
            resized = self._resized[out_size] = np.empty((out_size, out_size, 3), dtype=np.uint8)
        height, width = frame.shape[:2]
        y0, y1, x0, x1 = valid_region(window, height, width)
        if y0 >= y1 or x0 >= x1:
            resized.fill(0)
            return resized
        region = frame[y0:y1, x0:x1]
        top, left = y0 - window.y1, x0 - window.x1
        bottom, right = window.y1 + window.size - y1, window.x1 + window.size - x1
        if (top or left or bottom or right) and window.size > MAX_PADDED_SIDE:
            return _sample_large_window(frame, window, resized)
        if top or left or bottom or right:
            patch = self._patch_view(window.size)
            cv2.copyMakeBorder(region, top, bottom, left, right, cv2.BORDER_CONSTANT, dst=patch, value=0)
            region = patch
        cv2.resize(region, (out_size, out_size), dst=resized, interpolation=cv2.INTER_LINEAR)
        return resized

    def __call__(self, frame: np.ndarray, window: CropWindow, out: Optional[np.ndarray] = None) -> np.ndarray:
        crop = self.crop_uint8(frame, window)
        size = window.out_size
        normalized = self._normalized.get(size)
        if normalized is None:
            normalized = self._normalized[size] = np.empty((size, size, 3), dtype=np.float32)
        cv2.LUT(crop, self._table, dst=normalized)
        if out is None:
            out = np.empty((3, size, size), dtype=np.float32)
        hwc = normalized[:, :, ::-1] if self.color_order == "bgr" else normalized
        np.copyto(out, hwc.transpose(2, 0, 1))
        return out


def _sample_large_window(frame: np.ndarray, window: CropWindow, out: np.ndarray) -> np.ndarray:
    """The crop of a window too large to lay out, sampled straight from the frame into ``out`` (uint8 SxSx3)."""
    import warnings

    import torch

    from .torch_crop import sample_windows_torch  # imports this module: import at call time

    with warnings.catch_warnings():  # read-only frames (views on ROS messages) are only read here
        warnings.simplefilter("ignore", UserWarning)
        source = torch.from_numpy(np.ascontiguousarray(frame))
    out[...] = sample_windows_torch(source, [window])[0].to(torch.uint8).numpy()
    return out


_THREAD_LOCAL = threading.local()


def fused_cropper(color_order: str) -> FusedCropper:
    """This thread's :class:`FusedCropper` for ``color_order`` (they are not thread-safe, so one per thread)."""
    croppers = getattr(_THREAD_LOCAL, "croppers", None)
    if croppers is None:
        croppers = _THREAD_LOCAL.croppers = {}
    if color_order not in croppers:
        croppers[color_order] = FusedCropper(color_order)
    return croppers[color_order]


def crop_and_normalize(
    frame: np.ndarray,
    box: Sequence[float],
    factor: float,
    out_size: int,
    color_order: str = "rgb",
    out: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, CropWindow]:
    """Network input for the square window around ``box``; returns the ``3xSxS`` array and the window.

    Runs the fused path (:class:`FusedCropper`, one per thread); ``geometry.sample_target`` followed by
    :func:`normalize_crop` is the reference it reproduces exactly.
    """
    window = crop_window(box, factor, out_size)
    return fused_cropper(check_color_order(color_order))(frame, window, out), window
