"""Sample construction (docs/training.md): two templates and one search frame from one sequence.

Every sample is a pure function of ``(seed, epoch, index)``: worker count, process rank and resumption
do not change what a run sees, which is what makes ``--resume`` reproduce an uninterrupted run.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .processing import InvalidSample, TrackingProcessing
from .readers import DatasetError
from .sequences import SequenceInfo, TrackingDataset

MODES = ("causal", "trident_pro")
MIN_FRAMES = 20
MIN_VISIBLE = 2 * (1 + 2)  # the reference needs more than this many visible frames


def _visible_in(visible: np.ndarray, low: int, high: int, rng: np.random.Generator) -> Optional[int]:
    """A random visible frame id in ``[low, high)`` (clamped to the sequence), or None."""
    low, high = max(low, 0), min(high, len(visible))
    if low >= high:
        return None
    candidates = np.flatnonzero(visible[low:high])
    return int(low + candidates[rng.integers(len(candidates))]) if len(candidates) else None


def sample_causal(visible: np.ndarray, max_gap: int, rng: np.random.Generator, max_tries: int = 100) -> Optional[tuple[list[int], int]]:
    """Base frame, an earlier template within ``max_gap + g`` and a later search frame within ``max_gap + g``.

    Returns ``([later template, earlier template], search)``; ``g`` widens by 5 per failed try.
    """
    n = len(visible)
    gap_increase = 0
    for _ in range(max_tries):
        base = _visible_in(visible, 1, n - 1, rng)
        if base is None:
            return None
        earlier = _visible_in(visible, base - max_gap - gap_increase, base, rng)
        search = _visible_in(visible, base + 1, base + max_gap + gap_increase, rng)
        if earlier is not None and search is not None:
            return [base, earlier], search
        gap_increase += 5
    return None


def sample_trident(visible: np.ndarray, max_gap: int, rng: np.random.Generator) -> Optional[tuple[list[int], int]]:
    """Stage-3 mode: a visible template and search anywhere; the second template near the search frame."""
    first = _visible_in(visible, 0, len(visible), rng)
    search = _visible_in(visible, 0, len(visible), rng)
    if first is None or search is None:
        return None
    if first <= search:
        low, high = max(search - max_gap, 0), search
    else:
        low, high = search, min(search + max_gap, len(visible))
    second = int(rng.integers(low, high)) if high > low else search
    return [first, second], search


def sequence_is_usable(info: SequenceInfo, is_video: bool) -> bool:
    if not is_video:
        return True
    return len(info.visible) >= MIN_FRAMES and int(info.visible.sum()) > MIN_VISIBLE


class TrainingPairDataset(Dataset):
    """The training set: template/search pairs sampled from tracking datasets (a ``Dataset``, not a torch
    ``Sampler``). ``samples_per_epoch`` samples drawn with dataset ``ratios``; call :meth:`set_epoch` each epoch.
    """

    def __init__(
        self,
        datasets: Sequence[TrackingDataset],
        ratios: Sequence[float],
        processing: TrackingProcessing,
        samples_per_epoch: int,
        max_gap: int = 200,
        mode: str = "causal",
        seed: int = 42,
        score_labels: bool = False,
        pos_prob: float = 0.5,
        max_attempts: int = 100,
        distractor_negative_prob: float = 0.0,
        search_factor: float = 4.0,
    ) -> None:
        """``distractor_negative_prob``: share of score negatives cut around a look-alike in the search frame
        itself, from datasets that know their distractors (``distractor_boxes``), where the target lies outside
        that search crop (``search_factor`` times the look-alike's size).
        """
        if mode not in MODES:
            raise ValueError(f"unknown sampler mode {mode!r}; choose one of {MODES}")
        if len(datasets) != len(ratios) or not datasets:
            raise ValueError("give one sampling ratio per dataset (and at least one dataset)")
        ratios = np.asarray(ratios, dtype=np.float64)
        if (ratios < 0).any() or ratios.sum() <= 0:
            raise ValueError(f"sampling ratios must be non-negative with a positive sum, got {ratios.tolist()}")
        self.datasets = list(datasets)
        self.probs = ratios / ratios.sum()
        self.processing = processing
        self.samples_per_epoch = int(samples_per_epoch)
        self.max_gap, self.mode, self.seed = int(max_gap), mode, int(seed)
        self.score_labels, self.pos_prob, self.max_attempts = score_labels, float(pos_prob), int(max_attempts)
        self.distractor_negative_prob, self.search_factor = float(distractor_negative_prob), float(search_factor)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _pick_sequence(self, rng: np.random.Generator) -> tuple[TrackingDataset, int, SequenceInfo]:
        for _ in range(self.max_attempts):
            dataset = self.datasets[int(rng.choice(len(self.datasets), p=self.probs))]
            index = int(rng.integers(len(dataset)))
            info = dataset.sequence_info(index)
            if sequence_is_usable(info, dataset.is_video):
                return dataset, index, info
        raise DatasetError("no usable sequence found (videos need >= 20 frames and > 6 visible frames)")

    def sample_frames(self, info: SequenceInfo, is_video: bool, rng: np.random.Generator) -> Optional[tuple[list[int], int]]:
        if not is_video:
            return [0, 0], 0
        if self.mode == "causal":
            return sample_causal(info.visible, self.max_gap, rng)
        return sample_trident(info.visible, self.max_gap, rng)

    def _distractor_negative(self, dataset, index: int, info: SequenceInfo, search_id: int,
                             rng: np.random.Generator) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """The search frame around one of its look-alikes whose search crop misses the target, or None."""
        boxes = np.asarray(dataset.distractor_boxes(index, search_id), dtype=np.float64).reshape(-1, 4)
        target = info.boxes[search_id]
        for box in boxes[rng.permutation(len(boxes))]:
            half = self.search_factor * np.sqrt(box[2] * box[3]) / 2
            centre = box[:2] + box[2:] / 2
            if (np.abs(target[:2] + target[2:] / 2 - centre) > half + target[2:] / 2).any():
                return dataset.frames(index, [search_id])[0], box
        return None

    def _negative_search(self, dataset: TrackingDataset, index: int, info: SequenceInfo, search_id: int,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A search frame without the target: around a look-alike (see ``distractor_negative_prob``), an invisible
        frame with a centred W/8 x H/8 box, or another sequence.
        """
        if (self.distractor_negative_prob and hasattr(dataset, "distractor_boxes")
                and rng.random() < self.distractor_negative_prob):
            found = self._distractor_negative(dataset, index, info, search_id, rng)
            if found is not None:
                return found
        hidden = np.flatnonzero(~info.visible)
        if dataset.is_video and len(hidden):
            frame = dataset.frames(index, [int(hidden[rng.integers(len(hidden))])])[0]
            h, w = frame.shape[:2]
            bw, bh = int(w / 8), int(h / 8)
            return frame, np.array([w / 2 - bw / 2, h / 2 - bh / 2, bw, bh], dtype=np.float64)
        other, other_index, other_info = self._pick_sequence(rng)
        frame_id = int(rng.integers(len(other_info.boxes)))
        return other.frames(other_index, [frame_id])[0], other_info.boxes[frame_id]

    def __getitem__(self, key) -> dict[str, torch.Tensor]:
        """``key`` is an index of the current epoch or an ``(epoch, index)`` pair (see :class:`EpochSampler`)."""
        epoch, index = (int(key[0]), int(key[1])) if isinstance(key, (tuple, list)) else (self.epoch, int(key))
        rng = np.random.default_rng([self.seed, epoch, index])
        for _ in range(self.max_attempts):
            dataset, seq, info = self._pick_sequence(rng)
            picked = self.sample_frames(info, dataset.is_video, rng)
            if picked is None:
                continue
            template_ids, search_id = picked
            frames = dataset.frames(seq, template_ids + [search_id])
            search_frame, search_box, label = frames[2], info.boxes[search_id], 1.0
            if self.score_labels and rng.random() >= self.pos_prob:
                search_frame, search_box = self._negative_search(dataset, seq, info, search_id, rng)
                label = 0.0
            try:
                out = self.processing(frames[:2], [info.boxes[i] for i in template_ids], search_frame, search_box, rng)
            except InvalidSample:
                continue
            sample = {key: torch.from_numpy(value) for key, value in out.items()}
            sample["label"] = torch.tensor(label, dtype=torch.float32)
            return sample
        raise DatasetError(f"could not build a valid sample after {self.max_attempts} attempts (index {index}): "
                           "boxes too small or crops all padding?")
