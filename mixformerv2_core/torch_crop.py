"""Crop + resize + normalise with PyTorch ops, so that crops can be cut on the GPU from a frame uploaded once.

Follows the reference crop (``geometry.sample_target``: zero padding, the last image row/column dropped at
the right/bottom border, OpenCV ``INTER_LINEAR`` sampling with edge clamping inside the window) in float
arithmetic; OpenCV rounds its interpolation weights to fixed point, so results differ from the reference by
at most one grey level before normalisation. Device-agnostic: tested on the CPU. Not yet run on a GPU.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .geometry import CropWindow, valid_region
from .preprocessing import IMAGENET_MEAN, IMAGENET_STD, check_color_order


def _taps(start: int, size: int, out_size: int, lo: int, hi: int, device: torch.device) -> tuple[Tensor, ...]:
    """Per output pixel along one axis: the two window taps as image indices, their weight, and validity."""
    scale = size / out_size
    position = (torch.arange(out_size, device=device, dtype=torch.float64) + 0.5) * scale - 0.5
    first = torch.floor(position)
    weight = position - first
    first = first.long()
    weight = torch.where((first < 0) | (first >= size - 1), torch.zeros_like(weight), weight)
    first = first.clamp(0, size - 1)
    second = (first + 1).clamp(max=size - 1)
    taps = []
    for tap in (first, second):
        index = tap + start  # image coordinate
        taps += [index.clamp(max(lo, 0), max(hi - 1, 0)), (index >= lo) & (index < hi)]
    return taps[0], taps[1], taps[2], taps[3], weight.float()


def crop_and_normalize_torch(frame: Tensor, window: CropWindow, color_order: str = "rgb",
                             out: Optional[Tensor] = None) -> Tensor:
    """``frame``: ``HxWx3`` uint8 tensor (any device) -> ``3xSxS`` float32 normalised crop on that device."""
    order = check_color_order(color_order)
    height, width = frame.shape[:2]
    y0, y1, x0, x1 = valid_region(window, height, width)
    size, out_size, device = window.size, window.out_size, frame.device
    result = out if out is not None else torch.empty(3, out_size, out_size, device=device, dtype=torch.float32)
    if y0 >= y1 or x0 >= x1:
        pixels = torch.zeros(out_size, out_size, 3, device=device)
    else:
        ra, va_r, rb, vb_r, wy = _taps(window.y1, size, out_size, y0, y1, device)
        ca, va_c, cb, vb_c, wx = _taps(window.x1, size, out_size, x0, x1, device)
        image = frame.float()

        def sample(rows: Tensor, row_ok: Tensor, cols: Tensor, col_ok: Tensor) -> Tensor:
            mask = (row_ok[:, None] & col_ok[None, :]).unsqueeze(-1)
            return image[rows][:, cols] * mask

        top = sample(ra, va_r, ca, va_c) * (1 - wx)[None, :, None] + sample(ra, va_r, cb, vb_c) * wx[None, :, None]
        bottom = sample(rb, vb_r, ca, va_c) * (1 - wx)[None, :, None] + sample(rb, vb_r, cb, vb_c) * wx[None, :, None]
        pixels = (top * (1 - wy)[:, None, None] + bottom * wy[:, None, None]).round_()
    if order == "bgr":
        pixels = pixels.flip(-1)
    mean = torch.as_tensor(IMAGENET_MEAN, device=device)
    std = torch.as_tensor(IMAGENET_STD, device=device)
    result.copy_(((pixels / 255.0 - mean) / std).permute(2, 0, 1))
    return result
