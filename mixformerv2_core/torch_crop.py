"""Crop + resize + normalise with PyTorch ops, so that crops can be cut on the GPU from a frame uploaded once.

Follows the reference crop (``geometry.sample_target``: zero padding, the last image row/column dropped at
the right/bottom border, OpenCV ``INTER_LINEAR`` sampling with edge clamping inside the window) in float
arithmetic; OpenCV rounds its interpolation weights to fixed point, so results differ from the reference by
at most one grey level before normalisation. All windows of one output size are cut in one batch of gathers
(a handful of kernels for any number of targets). Device-agnostic: tested on the CPU. Not yet run on a GPU.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor

from .geometry import CropWindow, valid_region
from .preprocessing import IMAGENET_MEAN, IMAGENET_STD, check_color_order


def _taps(start: Tensor, size: Tensor, lo: Tensor, hi: Tensor, out_size: int) -> tuple[Tensor, ...]:
    """Per window (rows of the ``(N,)`` inputs) and output pixel along one axis: the two window taps as image
    indices (clamped to readable ones), whether each lies in the image region the window takes, and the weight.
    """
    size, start, lo, hi = size[:, None], start[:, None], lo[:, None], hi[:, None]
    steps = torch.arange(out_size, device=size.device, dtype=torch.float64)[None]
    position = (steps + 0.5) * (size.double() / out_size) - 0.5
    first = torch.floor(position)
    weight = position - first
    first = first.long()
    weight = torch.where((first < 0) | (first >= size - 1), torch.zeros_like(weight), weight)
    first = torch.minimum(first.clamp(min=0), size - 1)
    second = torch.minimum(first + 1, size - 1)
    readable_lo, readable_hi = lo.clamp(min=0), (hi - 1).clamp(min=0)
    taps = []
    for tap in (first, second):
        index = tap + start  # image coordinate
        taps += [torch.minimum(torch.maximum(index, readable_lo), readable_hi), (index >= lo) & (index < hi)]
    return taps[0], taps[1], taps[2], taps[3], weight.float()


def sample_windows_torch(frame: Tensor, windows: Sequence[CropWindow]) -> Tensor:
    """``frame``: ``HxWx3`` uint8 tensor (any device) -> ``NxSxSx3`` float crops (whole grey levels), one per
    window, in the frame's colour order. Memory grows with the output size only, never with the window's.
    """
    if not windows:
        raise ValueError("a crop batch needs at least one window")
    out_size = windows[0].out_size
    if any(window.out_size != out_size for window in windows):
        raise ValueError("all windows of one batch must have the same output size")
    height, width = frame.shape[:2]
    device = frame.device
    # One small upload of the window geometry: rows y1, size, y0, y1_end, then x1, x0, x1_end.
    geometry = torch.tensor([(w.y1, w.size, *valid_region(w, height, width), w.x1) for w in windows],
                            dtype=torch.int64).to(device)
    y_start, size, y0, y1, x0, x1, x_start = geometry.unbind(1)
    ra, row_a_ok, rb, row_b_ok, wy = _taps(y_start, size, y0, y1, out_size)
    ca, col_a_ok, cb, col_b_ok, wx = _taps(x_start, size, x0, x1, out_size)

    def sample(rows: Tensor, row_ok: Tensor, cols: Tensor, col_ok: Tensor) -> Tensor:
        mask = (row_ok[:, :, None] & col_ok[:, None, :]).unsqueeze(-1)
        return frame[rows[:, :, None], cols[:, None, :]].float() * mask  # (N, S, S, 3)

    wx, wy = wx[:, None, :, None], wy[:, :, None, None]
    top = sample(ra, row_a_ok, ca, col_a_ok) * (1 - wx) + sample(ra, row_a_ok, cb, col_b_ok) * wx
    bottom = sample(rb, row_b_ok, ca, col_a_ok) * (1 - wx) + sample(rb, row_b_ok, cb, col_b_ok) * wx
    return (top * (1 - wy) + bottom * wy).round_()


def crop_batch_torch(frame: Tensor, windows: Sequence[CropWindow], color_order: str = "rgb",
                     out: Optional[Tensor] = None) -> Tensor:
    """``frame``: ``HxWx3`` uint8 tensor (any device) -> ``Nx3xSxS`` normalised crops, one per window, on that
    device. ``out`` (any float dtype, e.g. a network's input buffer) is filled in place when given.
    """
    order = check_color_order(color_order)
    pixels = sample_windows_torch(frame, windows)
    if order == "bgr":
        pixels = pixels.flip(-1)
    device = frame.device
    mean = torch.as_tensor(IMAGENET_MEAN, device=device)
    std = torch.as_tensor(IMAGENET_STD, device=device)
    normalized = ((pixels / 255.0 - mean) / std).permute(0, 3, 1, 2)
    if out is None:
        return normalized.contiguous()
    out.copy_(normalized)
    return out


def crop_and_normalize_torch(frame: Tensor, window: CropWindow, color_order: str = "rgb",
                             out: Optional[Tensor] = None) -> Tensor:
    """``frame``: ``HxWx3`` uint8 tensor (any device) -> ``3xSxS`` normalised crop on that device."""
    return crop_batch_torch(frame, [window], color_order, None if out is None else out[None])[0]
