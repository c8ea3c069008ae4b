"""Short real-motion tracks from the registry videos (config ``type: real_video_tracks``): a patch of a real
video frame followed over the next frames by template matching, kept only while the match is unambiguous.

Real lighting, real camera and object motion, real compression; the boxes are what a classical method can follow
over a short range (no scale change), so the tracks stay short (``max_length``) and end at the first frame whose
best match falls below ``min_score``: after that the frames count as not visible. Deterministic for a seed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from .real_texture import load_video
from .registry import video_paths
from .sequences import SequenceInfo

MIN_TRACK = 20  # the sampler's shortest usable video
MIN_CONTRAST = 20.0  # grey-level standard deviation a patch needs to be followed
MAX_PICKS = 20


def follow_patch(frames: Sequence[np.ndarray], box: Sequence[float], min_score: float = 0.85) -> np.ndarray:
    """Boxes ``(len(frames), 4)`` of the patch ``box`` of ``frames[0]`` in each frame (NaN from the first frame
    where the best normalised correlation, searched within half a box size of the last position, is below
    ``min_score``, or the search window would leave the frame).
    """
    x, y, w, h = (int(round(v)) for v in box)
    template = cv2.cvtColor(frames[0][y:y + h, x:x + w], cv2.COLOR_RGB2GRAY)
    boxes = np.full((len(frames), 4), np.nan)
    boxes[0] = (x, y, w, h)
    for index in range(1, len(frames)):
        gray = cv2.cvtColor(frames[index], cv2.COLOR_RGB2GRAY)
        height, width = gray.shape
        x0, y0 = max(0, x - w // 2), max(0, y - h // 2)
        window = gray[y0:min(height, y + h + h // 2), x0:min(width, x + w + w // 2)]
        if window.shape[0] < h or window.shape[1] < w:
            break
        scores = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (dx, dy) = cv2.minMaxLoc(scores)
        if not best >= min_score:  # NaN (a flat template) fails too
            break
        x, y = x0 + dx, y0 + dy
        boxes[index] = (x, y, w, h)
    return boxes


class RealVideoTracks:
    """Sequence ``i``: a random patch of a random registry video, followed from a random frame (seed ``seed_offset + i``)."""

    is_video = True

    def __init__(self, num_sequences: int = 500, max_length: int = 40, seed_offset: int = 0, min_score: float = 0.85,
                 name: str = "real_video_tracks", videos: Optional[Sequence[Path]] = None,
                 packages: Sequence[str] = ("opencv-doc",)) -> None:
        """``packages``: the registry sources whose videos to draw from (registry.VIDEOS); ``videos``: these files
        instead.
        """
        if num_sequences < 1 or max_length < MIN_TRACK:
            raise ValueError(f"real video tracks need at least one sequence of at least {MIN_TRACK} frames")
        self.name, self.num_sequences, self.max_length = name, int(num_sequences), int(max_length)
        self.seed_offset, self.min_score = int(seed_offset), float(min_score)
        self.videos = list(videos) if videos is not None else video_paths(tuple(packages))
        self._tracks: dict[int, tuple[Path, int, SequenceInfo]] = {}

    def __len__(self) -> int:
        return self.num_sequences

    def _track(self, index: int) -> tuple[Path, int, SequenceInfo]:
        if index not in self._tracks:
            rng = np.random.default_rng([self.seed_offset + index, 0x7EAC])
            path = self.videos[int(rng.integers(len(self.videos)))]
            frames = load_video(Path(path))
            start = int(rng.integers(max(1, len(frames) - MIN_TRACK)))
            clip = frames[start:start + self.max_length]
            height, width = clip[0].shape[:2]
            for _ in range(MAX_PICKS):  # a patch with structure: flat ones match anywhere
                side = rng.uniform(0.12, 0.3) * min(height, width)
                aspect = float(np.exp(rng.uniform(-0.4, 0.4)))
                w, h = int(side * np.sqrt(aspect)), int(side / np.sqrt(aspect))
                x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
                if cv2.cvtColor(clip[0][y:y + h, x:x + w], cv2.COLOR_RGB2GRAY).std() >= MIN_CONTRAST:
                    break
            boxes = follow_patch(clip, (x, y, w, h), self.min_score)
            boxes = np.concatenate([boxes, np.full((max(0, MIN_TRACK - len(boxes)), 4), np.nan)])
            self._tracks[index] = (Path(path), start, SequenceInfo(boxes, np.isfinite(boxes).all(axis=1)))
        return self._tracks[index]

    def sequence_info(self, index: int) -> SequenceInfo:
        return self._track(index)[2]

    def frames(self, index: int, frame_ids: Sequence[int]) -> list[np.ndarray]:
        path, start, _ = self._track(index)
        frames = load_video(path)
        return [frames[min(start + int(i), len(frames) - 1)] for i in frame_ids]
