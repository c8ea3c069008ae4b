"""Frame checks and the crop -> normalised network input path."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .geometry import CropWindow, crop_window, sample_target

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
COLOR_ORDERS = ("rgb", "bgr")


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


def crop_and_normalize(
    frame: np.ndarray,
    box: Sequence[float],
    factor: float,
    out_size: int,
    color_order: str = "rgb",
    out: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, CropWindow]:
    """Network input for the square window around ``box``; returns the ``3xSxS`` array and the window."""
    window = crop_window(box, factor, out_size)
    return normalize_crop(sample_target(frame, window), color_order, out), window
