"""Crop windows and box arithmetic of the official tracker (docs/tracker.md).

Boxes are ``(x, y, w, h)`` in image pixels unless a name says otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class CropWindow:
    """A square window of ``size`` pixels whose top-left corner is ``(x1, y1)`` (may lie outside the image)."""

    x1: int
    y1: int
    size: int
    out_size: int

    @property
    def resize_factor(self) -> float:
        return self.out_size / self.size


def as_box(box: Sequence[float]) -> Box:
    values = tuple(float(v) for v in box)
    if len(values) != 4:
        raise ValueError(f"a box needs 4 numbers (x, y, w, h), got {len(values)}")
    return values  # type: ignore[return-value]


def crop_window(box: Sequence[float], factor: float, out_size: int) -> CropWindow:
    """Square window of side ``ceil(sqrt(w*h) * factor)`` centred on the box (Python rounding of the origin)."""
    x, y, w, h = as_box(box)
    area = w * h
    if not (math.isfinite(area) and area > 0):
        raise ValueError(f"cannot crop around a box of zero or invalid size: {(x, y, w, h)}")
    size = math.ceil(math.sqrt(area) * factor)
    if size < 1:
        raise ValueError(f"crop around {(x, y, w, h)} with factor {factor} is smaller than one pixel")
    return CropWindow(x1=round(x + 0.5 * w - size * 0.5), y1=round(y + 0.5 * h - size * 0.5), size=size, out_size=out_size)


def valid_region(window: CropWindow, height: int, width: int) -> tuple[int, int, int, int]:
    """Image rows/cols ``(y0, y1, x0, x1)`` the window takes from the image.

    Official rule: when the window reaches the right (bottom) border, the last image column (row) is not
    used and becomes padding. Empty ranges come back as ``y0 >= y1`` or ``x0 >= x1``.
    """
    x_end, y_end = window.x1 + window.size, window.y1 + window.size
    return max(window.y1, 0), min(y_end, height - 1), max(window.x1, 0), min(x_end, width - 1)


def sample_target(image: np.ndarray, window: CropWindow) -> np.ndarray:
    """Reference crop: window (zero padding outside the image) resized bilinearly to ``out_size``."""
    height, width = image.shape[:2]
    y0, y1, x0, x1 = valid_region(window, height, width)
    patch = np.zeros((window.size, window.size) + image.shape[2:], dtype=image.dtype)
    if y0 < y1 and x0 < x1:
        patch[y0 - window.y1 : y1 - window.y1, x0 - window.x1 : x1 - window.x1] = image[y0:y1, x0:x1]
    return cv2.resize(patch, (window.out_size, window.out_size), interpolation=cv2.INTER_LINEAR)


def map_box_back(pred_cxcywh: Sequence[float], previous: Sequence[float], crop_size: float) -> Box:
    """Network box (normalised cxcywh in the search crop) -> image box.

    The crop is assumed to start exactly at ``previous centre - crop_size / 2`` (as the official tracker does,
    ignoring the rounding of the crop origin).
    """
    cx, cy, w, h = (float(v) * crop_size for v in pred_cxcywh)
    px, py, pw, ph = as_box(previous)
    half = 0.5 * crop_size
    cx += px + 0.5 * pw - half
    cy += py + 0.5 * ph - half
    return (cx - 0.5 * w, cy - 0.5 * h, w, h)


def box_to_crop(box: Sequence[float], previous: Sequence[float], crop_size: float) -> Box:
    """Inverse of :func:`map_box_back`: image box -> normalised cxcywh in the crop around ``previous``."""
    x, y, w, h = as_box(box)
    px, py, pw, ph = as_box(previous)
    origin_x = px + 0.5 * pw - 0.5 * crop_size
    origin_y = py + 0.5 * ph - 0.5 * crop_size
    return ((x + 0.5 * w - origin_x) / crop_size, (y + 0.5 * h - origin_y) / crop_size, w / crop_size, h / crop_size)


def clip_box(box: Sequence[float], height: int, width: int, margin: float = 10) -> Box:
    """Keep at least ``margin`` pixels of the box inside the image (official ``clip_box``)."""
    x1, y1, w, h = as_box(box)
    x2, y2 = x1 + w, y1 + h
    x1 = min(max(0.0, x1), width - margin)
    x2 = min(max(margin, x2), width)
    y1 = min(max(0.0, y1), height - margin)
    y2 = min(max(margin, y2), height)
    return (x1, y1, max(margin, x2 - x1), max(margin, y2 - y1))


def validate_box(box: Sequence[float], what: str = "box") -> Box:
    """Four finite numbers with a positive width and height; ``ValueError`` naming ``what`` otherwise."""
    try:
        x, y, w, h = as_box(box)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be 4 numbers (x, y, w, h): {error}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"{what} has non-finite values: {(x, y, w, h)}")
    if w <= 0 or h <= 0:
        raise ValueError(f"{what} must have positive width and height, got w={w}, h={h}")
    return (x, y, w, h)


def validate_init_box(box: Sequence[float], height: int, width: int) -> Box:
    """A usable initial box: finite, positive size, overlapping the image. Raises ``ValueError`` otherwise."""
    x, y, w, h = validate_box(box, "initial box")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"initial box {(x, y, w, h)} lies entirely outside the {width}x{height} image")
    return (x, y, w, h)


def intersect_with_image(box: Sequence[float], height: int, width: int) -> Optional[Box]:
    """The part of a finite box inside the ``width`` x ``height`` image, or None when they do not overlap."""
    x, y, w, h = as_box(box)
    x0, y0 = max(x, 0.0), max(y, 0.0)
    x1, y1 = min(x + w, float(width)), min(y + h, float(height))
    if not (x1 > x0 and y1 > y0):
        return None
    return (x0, y0, x1 - x0, y1 - y0)


def xywh_to_cxcywh(box: Sequence[float]) -> Box:
    x, y, w, h = as_box(box)
    return (x + 0.5 * w, y + 0.5 * h, w, h)


def cxcywh_to_xywh(box: Sequence[float]) -> Box:
    cx, cy, w, h = as_box(box)
    return (cx - 0.5 * w, cy - 0.5 * h, w, h)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``(x, y, w, h)`` boxes (0 when either is empty): one pair of :func:`evaluation.metrics.iou`."""
    from .evaluation.metrics import iou

    return float(iou(np.asarray([as_box(a)]), np.asarray([as_box(b)]))[0])
