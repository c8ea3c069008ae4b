"""Where a lost target is searched for: a bounded set of search windows per frame, run as one batch.

While a target is lost, each frame searches the usual window around the place it was last seen plus up to
``reacquire_windows - 1`` windows of the same size taken from a grid that tiles the whole frame (half a window
apart, so any point lies within a quarter window of some window's centre). The grid is visited nearest-first
from the last-seen place and cycled, so the searched region grows with the time lost and every part of the
frame is searched every ``ceil(tiles / (reacquire_windows - 1))`` frames. Windows keep the target's last
confident size, so the network sees the target at the scale it was trained on.
"""
from __future__ import annotations

import math
from typing import Sequence

from .geometry import Box, CropWindow, crop_window

REACQUIRE_MODES = ("off", "wide")


def tile_windows(box: Sequence[float], frame_size: tuple[int, int], factor: float, out_size: int) -> list[CropWindow]:
    """The grid of search windows (of the size the tracker would cut around ``box``) covering the frame,
    nearest to ``box``'s centre first."""
    size = crop_window(box, factor, out_size).size
    height, width = frame_size
    xs, ys = _starts(width, size), _starts(height, size)
    cx, cy = box[0] + 0.5 * box[2], box[1] + 0.5 * box[3]
    tiles = [CropWindow(x1=x, y1=y, size=size, out_size=out_size) for y in ys for x in xs]
    return sorted(tiles, key=lambda t: (t.x1 + 0.5 * size - cx) ** 2 + (t.y1 + 0.5 * size - cy) ** 2)


def _starts(length: int, size: int) -> list[int]:
    """Window origins along one axis, at most half a window apart, the first and last flush with the borders
    (one centred window when the frame is smaller than a window)."""
    if length <= size:
        return [round(0.5 * (length - size))]
    count = math.ceil((length - size) / (0.5 * size)) + 1
    return [round(i * (length - size) / (count - 1)) for i in range(count)]


def search_windows(box: Sequence[float], frame_size: tuple[int, int], factor: float, out_size: int,
                   cap: int, frames_lost: int) -> list[CropWindow]:
    """This frame's windows for a lost target: the window around ``box`` first, then the next ``cap - 1``
    tiles of the nearest-first cycle (``frames_lost`` counts the frames searched so far)."""
    windows = [crop_window(box, factor, out_size)]
    slots = cap - 1
    if slots <= 0:
        return windows
    tiles = tile_windows(box, frame_size, factor, out_size)
    count = min(slots, len(tiles))
    start = frames_lost * count
    windows.extend(tiles[(start + i) % len(tiles)] for i in range(count))
    return windows


def window_anchor(window: CropWindow) -> Box:
    """A zero-size box at the window's centre: what ``geometry.map_box_back`` maps a prediction in the window
    back around (it assumes the crop is centred on the box it is given)."""
    half = 0.5 * window.size
    return (window.x1 + half, window.y1 + half, 0.0, 0.0)


def best_window(scores: Sequence[float]) -> int:
    """Index of the best-scoring window; ties (and all-NaN scores) go to the earliest, i.e. the window around
    the current box."""
    best = 0
    for index, score in enumerate(scores):
        if score > scores[best] or (scores[best] != scores[best] and score == score):
            best = index
    return best


__all__ = ["REACQUIRE_MODES", "best_window", "search_windows", "tile_windows", "window_anchor"]
