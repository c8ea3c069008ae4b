"""Held-out check on labelled sequences (generated scenes by default): a tracker against the box that stays
where it started.

AUC is the mean of the OPE success curve (IoU thresholds 0, 0.05, ..., 1; frame 0 excluded). Used by the
training toolkit's proofs, the demo model's test and the accuracy benchmarks.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from ..errors import InputError
from ..synthetic import generate_sequence
from .metrics import iou, success_curve
from .runner import track_frames
from .score_curve import score_curve

HELD_OUT_SEED = 100_000  # training scenes use seeds from 0; evaluation starts far above them


@dataclass
class SyntheticScore:
    auc: float
    mean_iou: float
    baseline_auc: float
    baseline_mean_iou: float
    sequences: int
    frames: int
    seconds: float
    score_roc_auc: float = float("nan")  # the confidence as a test for IoU > 0.5 frames (score_curve)
    best_lost_threshold: float = float("nan")  # that curve's best threshold: a lost_threshold for the model

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _success_auc(ious: np.ndarray) -> float:
    return float(success_curve(ious).mean())


def evaluate_synthetic(
    make_tracker: Callable[[], object],
    num_sequences: int = 10,
    num_frames: int = 100,
    frame_size: tuple[int, int] = (480, 640),
    first_seed: int = HELD_OUT_SEED,
    scene_options: Optional[dict] = None,
) -> SyntheticScore:
    """Track held-out generated scenes (a fresh tracker from ``make_tracker`` for each)."""
    def scenes() -> Iterator[tuple[Sequence[np.ndarray], np.ndarray]]:
        for seed in range(first_seed, first_seed + num_sequences):
            sequence = generate_sequence(seed=seed, num_frames=num_frames, frame_size=frame_size,
                                         **(scene_options or {}))
            yield sequence.frames, np.asarray(sequence.boxes, dtype=np.float64)

    return evaluate_sequences(make_tracker, scenes())


def evaluate_sequences(make_tracker: Callable[[], object],
                       sequences: Iterable[tuple[Sequence[np.ndarray], np.ndarray]]) -> SyntheticScore:
    """Track each (frames, true xywh boxes) from its first box with a fresh tracker; compare with a static box.

    ``sequences`` may be a generator: one sequence's frames are held at a time.
    """
    tracked, static, scores = [], [], []
    start = time.perf_counter()
    for frames, boxes in sequences:
        gt = np.asarray(boxes, dtype=np.float64)
        result = track_frames(make_tracker(), frames, gt[0])
        tracked.append(iou(result.boxes[1:], gt[1:]))
        scores.append(np.asarray(result.scores[1:], dtype=np.float64))
        static.append(iou(np.repeat(gt[:1], len(gt) - 1, axis=0), gt[1:]))
    if not tracked:
        raise InputError("no sequences to evaluate")
    tracked_arr, static_arr = np.concatenate(tracked), np.concatenate(static)
    curve = score_curve(np.concatenate(scores), tracked_arr)
    return SyntheticScore(
        auc=_success_auc(tracked_arr), mean_iou=float(tracked_arr.mean()),
        baseline_auc=_success_auc(static_arr), baseline_mean_iou=float(static_arr.mean()),
        sequences=len(tracked), frames=len(tracked_arr), seconds=time.perf_counter() - start,
        score_roc_auc=curve.auc, best_lost_threshold=curve.best_threshold,
    )
