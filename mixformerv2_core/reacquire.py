"""Where a lost target is searched for: a bounded set of search windows per frame, run as one batch.

While a target is lost, each frame runs ``reacquire_windows`` windows of the size the tracker would cut around
the target's last confident box (so the network sees it at the scale it was trained on):

- the window around the place it was last seen (a target that comes back there is found at once);
- a window centred on the best appearance proposal: normalised cross-correlation of the target's first
  pixels with a shrunk copy of the frame (OpenCV, well under a millisecond). Networks trained with little
  centre jitter (the built-in demo model) score and localise a target only near the centre of their crop, so
  a window must be centred on it to find it; a proposal only says where to look, the network decides;
- a window centred where the best window of the previous frame pointed (the probe, which confirms a target
  that a window held off-centre);
- windows from a grid that tiles the whole frame (at most half a window apart, flush with the borders, so a
  target at least half a window from the border is within a quarter window of some window's centre), visited
  nearest-first from the
  last-seen place and cycled, so the searched region grows with the time lost, alternating with the next
  proposals.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import cv2
import numpy as np

from .geometry import Box, CropWindow, crop_window

REACQUIRE_MODES = ("off", "wide")
PROPOSAL_SIDE = 10.0  # pixels across the target in the shrunk frame the appearance proposals are computed on
PROPOSALS_FIRST = 1  # proposals searched before the probe and the tiles (a look-alike often wins the first)
REFINE_SIDE = 32.0  # pixels across the target where a proposal's centre is refined
PROPOSAL_SCALES = (0.6, 0.8, 1.0, 1.25, 1.6, 2.0)  # target sizes tried, relative to its last confident size


def tile_windows(box: Sequence[float], frame_size: tuple[int, int], factor: float, out_size: int) -> list[CropWindow]:
    """The grid of search windows (of the size the tracker would cut around ``box``) covering the frame,
    nearest to ``box``'s centre first.
    """
    size = crop_window(box, factor, out_size).size
    height, width = frame_size
    xs, ys = _starts(width, size), _starts(height, size)
    cx, cy = box[0] + 0.5 * box[2], box[1] + 0.5 * box[3]
    tiles = [CropWindow(x1=x, y1=y, size=size, out_size=out_size) for y in ys for x in xs]
    return sorted(tiles, key=lambda t: (t.x1 + 0.5 * size - cx) ** 2 + (t.y1 + 0.5 * size - cy) ** 2)


def _starts(length: int, size: int) -> list[int]:
    """Window origins along one axis, at most half a window apart, the first and last flush with the borders
    (one centred window when the frame is smaller than a window).
    """
    if length <= size:
        return [round(0.5 * (length - size))]
    count = math.ceil((length - size) / (0.5 * size)) + 1
    return [round(i * (length - size) / (count - 1)) for i in range(count)]


def search_windows(box: Sequence[float], frame_size: tuple[int, int], factor: float, out_size: int, cap: int,
                   sweep: int, probe: Optional[Sequence[float]] = None,
                   proposals: Sequence[Sequence[float]] = ()) -> tuple[list[CropWindow], int]:
    """This frame's windows for a lost target (at most ``cap``) and how many of them are tiles.

    In order: the window around ``box``; one around the best appearance proposal; one centred on ``probe``
    (where the best window of the previous frame pointed, at ``box``'s size); then tiles ``sweep, sweep + 1,
    ...`` of the nearest-first cycle (the size cut around ``box``) alternating with the other proposals.
    """
    first = [crop_window(proposal, factor, out_size) for proposal in proposals[:PROPOSALS_FIRST]]
    if probe is not None:
        cx, cy = probe[0] + 0.5 * probe[2], probe[1] + 0.5 * probe[3]
        first.append(crop_window((cx - 0.5 * box[2], cy - 0.5 * box[3], box[2], box[3]), factor, out_size))
    windows = ([crop_window(box, factor, out_size)] + first)[:cap]
    tiles = tile_windows(box, frame_size, factor, out_size)
    rest, used, take_tile = list(proposals[PROPOSALS_FIRST:]), 0, True
    while len(windows) < cap and (used < len(tiles) or rest):
        if (take_tile and used < len(tiles)) or not rest:
            windows.append(tiles[(sweep + used) % len(tiles)])
            used += 1
        else:
            windows.append(crop_window(rest.pop(0), factor, out_size))
        take_tile = not take_tile
    return windows, used


def colour_histogram(patch: np.ndarray) -> np.ndarray:
    """Hue-saturation histogram of an RGB patch (16 x 8 bins, unit length): a summary of the target's colours
    that survives the turns, tilts and scale changes a pixel template does not.
    """
    hsv = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    return cv2.normalize(histogram, histogram).flatten()


def looks_like(frame: np.ndarray, histogram: Optional[np.ndarray], box: Sequence[float], threshold: float) -> bool:
    """Whether the pixels in ``box`` have the target's colours: histogram correlation >= ``threshold`` (0: no
    check). A network trained without look-alikes scores a centred look-alike like the target; its colours
    differ. Both patches are in the frame's colour order, so the order does not matter.
    """
    if histogram is None or threshold <= 0.0:
        return True
    patch = target_patch(frame, box)
    if patch is None:
        return False
    return cv2.compareHist(histogram, colour_histogram(patch), cv2.HISTCMP_CORREL) >= threshold


def target_patch(frame: np.ndarray, box: Sequence[float]) -> Optional[np.ndarray]:
    """The pixels inside ``box`` (clipped to the frame), kept to propose where a lost target might be."""
    x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
    x1, y1 = min(frame.shape[1], int(round(box[0] + box[2]))), min(frame.shape[0], int(round(box[1] + box[3])))
    return frame[y0:y1, x0:x1].copy() if x1 - x0 >= 2 and y1 - y0 >= 2 else None


def appearance_proposals(frame: np.ndarray, patch: np.ndarray, size: Sequence[float], count: int
                         ) -> list[Box]:
    """The ``count`` boxes (at least a target apart) that look most like ``patch``: normalised
    cross-correlation at ``PROPOSAL_SCALES`` times ``size`` (w, h) on a copy of the frame shrunk so the
    target is about ``PROPOSAL_SIDE`` pixels across, each peak refined at full resolution.

    A proposal only says where to look; the network, in a window centred there, decides.
    """
    w, h = float(size[0]), float(size[1])
    scale = min(1.0, PROPOSAL_SIDE / math.sqrt(w * h))
    small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    peaks = []  # (value, cx, cy, w, h) in full-resolution pixels
    for factor in PROPOSAL_SCALES:
        tw, th = max(3, round(w * factor * scale)), max(3, round(h * factor * scale))
        if count <= 0 or small.shape[0] < th or small.shape[1] < tw:
            continue
        response = np.nan_to_num(cv2.matchTemplate(small, cv2.resize(patch, (tw, th), interpolation=cv2.INTER_AREA),
                                                   cv2.TM_CCOEFF_NORMED), nan=-1.0)
        for _ in range(count):
            _, peak, _, (x, y) = cv2.minMaxLoc(response)
            if peak <= -1.0:
                break
            peaks.append((peak, (x + 0.5 * tw) / scale, (y + 0.5 * th) / scale, w * factor, h * factor))
            response[max(0, y - th):y + th + 1, max(0, x - tw):x + tw + 1] = -1.0
    chosen: list[tuple] = []
    for peak in sorted(peaks, reverse=True):
        if len(chosen) < count and all(abs(peak[1] - c[1]) > 0.5 * c[3] or abs(peak[2] - c[2]) > 0.5 * c[4]
                                       for c in chosen):
            chosen.append(peak)
    boxes = []
    for _, cx, cy, bw, bh in chosen:
        cx, cy = _refine(frame, patch, cx, cy, bw, bh, 1.0 / scale)
        boxes.append((cx - 0.5 * bw, cy - 0.5 * bh, bw, bh))
    return boxes


def _refine(frame: np.ndarray, patch: np.ndarray, cx: float, cy: float, w: float, h: float, reach: float
            ) -> tuple[float, float]:
    """The coarse centre refined within ``reach`` pixels, at a resolution where the target is about
    ``REFINE_SIDE`` pixels across: the network's score drops fast when its window is off the target's centre by
    even a few pixels.
    """
    r = int(math.ceil(reach))
    x0, y0 = int(round(cx - 0.5 * w)) - r, int(round(cy - 0.5 * h)) - r
    x1, y1 = int(round(cx + 0.5 * w)) + r, int(round(cy + 0.5 * h)) + r
    if x0 < 0 or y0 < 0 or x1 > frame.shape[1] or y1 > frame.shape[0]:
        return cx, cy
    scale = min(1.0, REFINE_SIDE / math.sqrt(w * h))
    region = cv2.resize(frame[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    tw, th = max(3, round(w * scale)), max(3, round(h * scale))
    if region.shape[0] < th or region.shape[1] < tw:
        return cx, cy
    response = cv2.matchTemplate(region, cv2.resize(patch, (tw, th), interpolation=cv2.INTER_AREA),
                                 cv2.TM_CCOEFF_NORMED)
    _, _, _, (x, y) = cv2.minMaxLoc(np.nan_to_num(response, nan=-1.0))
    return x0 + (x + 0.5 * tw) / scale, y0 + (y + 0.5 * th) / scale


def window_anchor(window: CropWindow) -> Box:
    """A zero-size box at the window's centre: what ``geometry.map_box_back`` maps a prediction in the window
    back around (it assumes the crop is centred on the box it is given).
    """
    half = 0.5 * window.size
    return (window.x1 + half, window.y1 + half, 0.0, 0.0)


def is_near(box: Sequence[float], previous: Sequence[float]) -> bool:
    """Whether ``box`` is where ``previous`` was, give or take one frame's motion (centres at most the larger
    side of ``previous`` apart): a window other than the one around the box that finds the target there
    confirms it rather than relocating it.
    """
    dx = (box[0] + 0.5 * box[2]) - (previous[0] + 0.5 * previous[2])
    dy = (box[1] + 0.5 * box[3]) - (previous[1] + 0.5 * previous[3])
    return math.hypot(dx, dy) <= max(previous[2], previous[3])


def best_window(scores: Sequence[float]) -> int:
    """Index of the best-scoring window; ties (and all-NaN scores) go to the earliest, i.e. the window around
    the current box.
    """
    best = 0
    for index, score in enumerate(scores):
        if score > scores[best] or (scores[best] != scores[best] and score == score):
            best = index
    return best


__all__ = ["PROPOSAL_SCALES", "PROPOSAL_SIDE", "REACQUIRE_MODES", "appearance_proposals", "best_window", "is_near", "search_windows", "target_patch",
           "tile_windows", "window_anchor"]
