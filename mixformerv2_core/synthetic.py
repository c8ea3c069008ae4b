"""Generated tracking sequences: a textured object moving, scaling and being partly occluded over a
textured, slowly panning background, with look-alike distractors. Boxes are exact (what is drawn).

Used by tests, smoke runs, the demo and the training toolkit's synthetic dataset. Frames render lazily
(``SyntheticScene.render(i)``) so a sampler can draw three frames of a long sequence cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

import cv2
import numpy as np


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    coarse = rng.random((max(2, height // cells), max(2, width // cells), 3), dtype=np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    base = 0.55 * _smooth_noise(rng, height, width, 64) + 0.3 * _smooth_noise(rng, height, width, 12)
    base += 0.15 * rng.random((height, width, 1), dtype=np.float32)
    image = np.clip(base * 255, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(8, 20))):  # clutter: shapes with hard edges
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        if rng.random() < 0.5:
            cv2.circle(image, center, int(rng.integers(5, max(6, min(height, width) // 10))), color, -1)
        else:
            size = rng.integers(8, max(9, min(height, width) // 6), 2)
            cv2.rectangle(image, center, (center[0] + int(size[0]), center[1] + int(size[1])), color, -1)
    return image


def _object_texture(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A distinctive pattern: a dominant colour, stripes or checks, and fine noise."""
    palette = rng.integers(0, 256, (3, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    freq = float(rng.uniform(2, 6))
    angle = float(rng.uniform(0, np.pi))
    stripes = (np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle))) > 0).astype(np.float32)
    checks = ((np.floor(xx * 4) + np.floor(yy * 4)) % 2).astype(np.float32)
    mix = stripes if rng.random() < 0.5 else checks
    texture = palette[0] * (1 - mix[..., None]) + palette[1] * mix[..., None]
    texture = 0.8 * texture + 0.2 * palette[2] * _smooth_noise(rng, size, size, 8)
    texture += rng.normal(0, 12, texture.shape).astype(np.float32)
    border = max(2, size // 16)
    texture[:border], texture[-border:], texture[:, :border], texture[:, -border:] = 0, 0, 0, 0
    return np.clip(texture, 0, 255).astype(np.uint8)


@dataclass
class _Mover:
    texture: np.ndarray
    centers: np.ndarray  # (N, 2) float
    sizes: np.ndarray  # (N, 2) float


def _trajectory(rng: np.random.Generator, num_frames: int, height: int, width: int, base_size: float,
                speed: float, log_aspect: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    aspect = float(np.exp(rng.uniform(-log_aspect, log_aspect)))
    base = np.array([base_size * np.sqrt(aspect), base_size / np.sqrt(aspect)])
    phase, period = rng.uniform(0, 2 * np.pi), rng.uniform(40, 120)
    scale = 1.0 + 0.35 * np.sin(phase + 2 * np.pi * np.arange(num_frames) / period)
    sizes = base[None] * scale[:, None]
    centers = np.empty((num_frames, 2))
    pos = np.array([rng.uniform(0.25, 0.75) * width, rng.uniform(0.25, 0.75) * height])
    vel = rng.normal(0, speed, 2)
    for i in range(num_frames):
        half = sizes[i] / 2
        low, high = half + 1, np.array([width, height]) - half - 1
        vel = 0.9 * vel + rng.normal(0, speed * 0.35, 2)
        pos = pos + vel
        for axis in range(2):  # bounce off the borders
            if pos[axis] < low[axis] or pos[axis] > high[axis]:
                vel[axis] = -vel[axis]
                pos[axis] = np.clip(pos[axis], low[axis], max(low[axis], high[axis]))
        centers[i] = pos
    return centers, sizes


ABSENCE_MODES = ("hidden", "exit")
EXIT_FRAMES = 4  # frames the target takes to slide out of (and back into) the frame around an "exit" absence


def _exit_path(centers: np.ndarray, sizes: np.ndarray, start: int, stop: int, width: int, height: int) -> None:
    """Moves the target out over the nearest border before ``start``, keeps it outside until ``stop`` and brings it
    back to its own trajectory by ``stop + EXIT_FRAMES`` (in place).
    """
    before, after = centers[start - EXIT_FRAMES].copy(), centers[min(stop + EXIT_FRAMES, len(centers) - 1)].copy()
    reach = sizes[start:stop].max(axis=0) if stop > start else sizes[start]
    gaps = [before[0], width - before[0], before[1], height - before[1]]
    side = int(np.argmin(gaps))
    outside = before.copy()
    axis = side // 2
    outside[axis] = -reach[axis] if side % 2 == 0 else (width, height)[axis] + reach[axis]
    for step in range(EXIT_FRAMES):
        t = step / EXIT_FRAMES
        centers[start - EXIT_FRAMES + step] = (1 - t) * before + t * outside
        centers[stop + step] = (1 - t) * outside + t * after
    centers[start:stop] = outside


class SyntheticScene:
    """A lazily rendered sequence; ``box(i)`` and ``render(i)`` are deterministic for a seed."""

    def __init__(
        self,
        seed: int = 0,
        num_frames: int = 60,
        frame_size: tuple[int, int] = (480, 640),
        num_distractors: int = 2,
        occlusion: bool = True,
        speed: Optional[float] = None,
        object_scale: Optional[float] = None,
        absences: Sequence[tuple[int, int]] = (),
        absence_mode: str = "hidden",
        scale_range: tuple[float, float] = (0.12, 0.25),
        log_aspect: float = 0.5,
    ) -> None:
        """``scale_range``: the target's base size as a share of the short side, drawn uniformly (unless
        ``object_scale`` fixes it); ``log_aspect``: largest ``|log(w / h)|`` of each mover.
        ``absences``: frame ranges ``[start, stop)`` without the target, either not drawn (``"hidden"``, as
        behind a wall) or moved out of the frame and back (``"exit"``, sliding over ``EXIT_FRAMES`` frames on
        each side); their ``boxes`` rows are NaN, and a box cut by the border is the visible part.
        """
        if absence_mode not in ABSENCE_MODES:
            raise ValueError(f"absence_mode must be one of {ABSENCE_MODES}, got {absence_mode!r}")
        margin = EXIT_FRAMES if absence_mode == "exit" else 0
        for start, stop in absences:
            if not margin <= start < stop <= num_frames - margin or start < 1:
                raise ValueError(f"absence {(start, stop)} must lie within frames 1-{num_frames - 1}"
                                 + (f" with {margin} frames to spare at both ends" if margin else ""))
        rng = np.random.default_rng(seed)
        self.seed, self.num_frames = seed, num_frames
        self.height, self.width = frame_size
        short = min(self.height, self.width)
        pan = int(0.15 * short)
        self._background = _background(rng, self.height + 2 * pan, self.width + 2 * pan)
        pan_path = np.cumsum(rng.normal(0, 0.6, (num_frames, 2)), axis=0)
        self._pan = np.clip(pan + pan_path, 0, 2 * pan).round().astype(int)
        base_size = (object_scale or rng.uniform(*scale_range)) * short
        speed = speed if speed is not None else rng.uniform(0.01, 0.025) * short
        centers, sizes = _trajectory(rng, num_frames, self.height, self.width, base_size, speed, log_aspect)
        self._hidden = np.zeros(num_frames, dtype=bool)
        self._exits = absence_mode == "exit" and len(absences) > 0
        for start, stop in absences:
            self._hidden[start:stop] = True
            if self._exits:
                _exit_path(centers, sizes, start, stop, self.width, self.height)
        self._target = _Mover(_object_texture(rng), centers, sizes)
        self._distractors = []
        for _ in range(num_distractors):
            c, s = _trajectory(rng, num_frames, self.height, self.width, base_size * rng.uniform(0.6, 1.2), speed,
                               log_aspect)
            self._distractors.append(_Mover(_object_texture(rng), c, s))
        self._occluder = None
        if occlusion:
            c, s = _trajectory(rng, num_frames, self.height, self.width, base_size * 0.5, speed * 1.5)
            s[:, 1] = s[:, 1] * 3  # a tall bar that sweeps across
            self._occluder = _Mover(_object_texture(rng, 32), c, s)
        self.boxes = np.array([self._rect(self._target, i) for i in range(num_frames)], dtype=np.float64)
        if self._exits:
            self.boxes = np.array([self._visible_part(self._rect(self._target, i, clamp=False))
                                   for i in range(num_frames)], dtype=np.float64)
        self.boxes[self._hidden] = np.nan

    def _visible_part(self, rect: tuple[int, int, int, int]) -> tuple[float, ...]:
        x, y, w, h = rect
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.width), min(y + h, self.height)
        return (x0, y0, x1 - x0, y1 - y0) if x0 < x1 and y0 < y1 else (np.nan,) * 4

    def visible(self, index: int) -> bool:
        """Whether the target is in frame ``index`` (not hidden, not outside the frame)."""
        return bool(np.isfinite(self.boxes[index]).all())

    def _target_drawn(self, index: int) -> bool:
        """Whether frame ``index`` draws the target (one that leaves the frame is drawn as it goes)."""
        return not (self._hidden[index] and not self._exits)

    def _target_rect(self, index: int) -> tuple[int, int, int, int]:
        """Where frame ``index`` draws the target (kept inside the frame unless it leaves)."""
        return self._rect(self._target, index, clamp=not self._exits)

    def _rect(self, mover: _Mover, index: int, clamp: bool = True) -> tuple[int, int, int, int]:
        w, h = (max(4, int(round(v))) for v in mover.sizes[index])
        x = int(round(mover.centers[index][0] - w / 2))
        y = int(round(mover.centers[index][1] - h / 2))
        if not clamp:
            return x, y, w, h
        x = min(max(x, 0), self.width - w)
        y = min(max(y, 0), self.height - h)
        return x, y, w, h

    def _paste(self, frame: np.ndarray, mover: _Mover, index: int, clamp: bool = True) -> None:
        x, y, w, h = self._rect(mover, index, clamp)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.width), min(y + h, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        patch = cv2.resize(mover.texture, (w, h), interpolation=cv2.INTER_LINEAR)
        frame[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]

    def box(self, index: int) -> np.ndarray:
        return self.boxes[index]

    def distractor_boxes(self, index: int) -> np.ndarray:
        """``(num_distractors, 4)`` boxes of the look-alikes in frame ``index`` (to score false detections)."""
        return np.array([self._rect(mover, index) for mover in self._distractors], dtype=np.float64).reshape(-1, 4)

    def render(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``HxWx3 uint8`` RGB."""
        px, py = self._pan[index]
        frame = self._background[py:py + self.height, px:px + self.width].copy()
        for mover in self._distractors:
            self._paste(frame, mover, index)
        if self._target_drawn(index):
            self._paste(frame, self._target, index, clamp=not self._exits)
        if self._occluder is not None:
            self._paste(frame, self._occluder, index)
        return frame

    def __len__(self) -> int:
        return self.num_frames

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.render(i) for i in range(self.num_frames))


@dataclass
class SyntheticSequence:
    name: str
    frames: list[np.ndarray]  # RGB uint8
    boxes: np.ndarray  # (N, 4) float64 x, y, w, h
    fps: float = 30.0


def generate_sequence(seed: int = 0, num_frames: int = 60, frame_size: tuple[int, int] = (480, 640),
                      **scene_options) -> SyntheticSequence:
    """Render a whole synthetic sequence (``frame_size`` is ``(height, width)``)."""
    scene = SyntheticScene(seed=seed, num_frames=num_frames, frame_size=frame_size, **scene_options)
    return SyntheticSequence(name=f"synthetic-{seed:04d}", frames=list(scene), boxes=scene.boxes.copy())
