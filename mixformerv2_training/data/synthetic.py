"""Generated training sequences from the core's :class:`~mixformerv2_core.synthetic.SyntheticScene`.

Sequence ``i`` is the scene with seed ``seed_offset + i``; evaluation draws its held-out sequences from a
different seed range. Scenes render lazily, so a sample costs three frame renders, not a whole video.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from mixformerv2_core.synthetic import SyntheticScene

from .sequences import SequenceInfo


class SyntheticTrackingDataset:
    is_video = True

    def __init__(
        self,
        num_sequences: int = 500,
        num_frames: int = 200,
        frame_size: tuple[int, int] = (240, 320),
        seed_offset: int = 0,
        cache_size: int = 64,
        name: str = "synthetic",
        scene_options: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """``scene_options`` go to :class:`SyntheticScene` (e.g. ``num_distractors: 0, occlusion: false`` for
        an easier task in smoke runs).
        """
        if num_sequences < 1 or num_frames < 20:
            raise ValueError("a synthetic dataset needs at least one sequence of at least 20 frames")
        self.name = name
        self.num_sequences, self.num_frames = int(num_sequences), int(num_frames)
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        self.seed_offset, self.cache_size = int(seed_offset), int(cache_size)
        self.scene_options = dict(scene_options or {})
        self._scenes: OrderedDict[int, SyntheticScene] = OrderedDict()  # per process (workers hold their own)

    def __len__(self) -> int:
        return self.num_sequences

    def scene(self, index: int) -> SyntheticScene:
        scene = self._scenes.pop(index, None)
        if scene is None:
            scene = self.make_scene(self.seed_offset + index)
            if len(self._scenes) >= self.cache_size:
                self._scenes.popitem(last=False)
        self._scenes[index] = scene
        return scene

    def make_scene(self, seed: int) -> SyntheticScene:
        """The scene of one sequence (subclasses draw other scenes with the same caching and sampling)."""
        return SyntheticScene(seed=seed, num_frames=self.num_frames, frame_size=self.frame_size, **self.scene_options)

    def sequence_info(self, index: int) -> SequenceInfo:
        boxes = self.scene(index).boxes
        return SequenceInfo(boxes=boxes, visible=np.ones(len(boxes), dtype=bool))

    def distractor_boxes(self, index: int, frame_id: int) -> np.ndarray:
        """``(K, 4)`` boxes of the scene's look-alikes in a frame (hard negatives for the score stage)."""
        return self.scene(index).distractor_boxes(int(frame_id))

    def frames(self, index: int, frame_ids: Sequence[int]) -> list[np.ndarray]:
        scene = self.scene(index)
        return [scene.render(int(i)) for i in frame_ids]
