"""The interface every training dataset offers the sampler: sequences of frames with boxes and visibility."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np


@dataclass
class SequenceInfo:
    """Annotations of one sequence: ``boxes`` (N, 4) x, y, w, h pixels and ``visible`` (N,) bool."""

    boxes: np.ndarray
    visible: np.ndarray

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.visible = np.asarray(self.visible, dtype=bool).reshape(-1) & (self.boxes[:, 2] > 0) & (self.boxes[:, 3] > 0)
        if len(self.visible) != len(self.boxes):
            raise ValueError(f"{len(self.boxes)} boxes but {len(self.visible)} visibility flags")


class TrackingDataset(Protocol):
    """A training source. Image datasets (COCO) are one-frame sequences with ``is_video`` False."""

    name: str
    is_video: bool

    def __len__(self) -> int:
        """Number of sequences."""

    def sequence_info(self, index: int) -> SequenceInfo: ...

    def frames(self, index: int, frame_ids: Sequence[int]) -> list[np.ndarray]:
        """``HxWx3 uint8`` RGB frames of sequence ``index``."""
