"""Choosing a run's epoch by tracking: after an epoch the trainer exports the network, tracks scenes that no
training sample came from with it, and keeps the best epoch's export (``best.pt``; with ``select_best`` it
becomes ``final.pt``, what the next stage reads).

Real-imagery runs of the small teacher varied from epoch to epoch by more than a second seed moved them
(docs/demo_model.md): the last epoch is a draw. The scenes have their own seeds (config.VALIDATION_SEED), far
from the training scenes' and the benchmarks' held-out ones; real-texture scenes show training photos by
default, so that the benchmark's held-out photos stay unseen by any choice made here.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import numpy as np
import torch

from mixformerv2_core.atomic import atomic_write_text
from mixformerv2_core.evaluation.synthetic import SyntheticScore, evaluate_sequences
from mixformerv2_core.synthetic import generate_sequence

from .data.registry import DEFAULT_PHOTO_PACKAGES
from .export import UnfinishedPruningError

RECORD = "validation.json"  # <run>/validation.json: every validated epoch's numbers and the best so far
BEST = "best.pt"  # <run>/best.pt: the best epoch's export, in the format final.pt has


def validation_scenes(section: Mapping[str, Any]) -> Iterator[tuple[list, np.ndarray]]:
    """(frames, true boxes) of each scene a ``validation`` section describes, rendered one at a time; the target
    is always present (benchmarks/real_video.py builds its held-out scenes here too).
    """
    first, size = int(section["first_seed"]), tuple(section["frame_size"])
    seeds = range(first, first + int(section["scenes"]))
    if section["kind"] == "synthetic":
        for seed in seeds:
            scene = generate_sequence(seed=seed, num_frames=section["frames"], frame_size=size)
            yield list(scene.frames), np.asarray(scene.boxes, dtype=np.float64)
        return
    from .data.real_texture import RealImages, RealTextureScene  # needs the registry sources

    images = RealImages(tuple(section.get("packages") or DEFAULT_PHOTO_PACKAGES), split=section["photos"])
    for seed in seeds:
        scene = RealTextureScene(images, seed=seed, num_frames=section["frames"], frame_size=size, absence_prob=0)
        yield list(scene), scene.boxes.copy()


class EpochSelector:
    """Tracks the validation scenes after chosen epochs and keeps the best export; survives a resume."""

    def __init__(self, section: Mapping[str, Any], run_dir: Path, resume: bool) -> None:
        """A fresh run starts without a best epoch even where an earlier run left its record."""
        self.section = section
        self.best_path = run_dir / BEST
        self.record_path = run_dir / RECORD
        resumed = resume and self.record_path.is_file()
        record = json.loads(self.record_path.read_text(encoding="utf-8")) if resumed else {}
        self.history: list[dict[str, Any]] = record.get("history", [])
        self.best: Optional[dict[str, Any]] = record.get("best")

    @property
    def enabled(self) -> bool:
        return int(self.section["scenes"]) > 0

    def due(self, finished_epoch: int, last_epoch: int) -> bool:
        every = int(self.section["every"])
        return self.enabled and (finished_epoch % every == 0 or finished_epoch == last_epoch)

    def validate(self, finished_epoch: int, export: Callable[[Path], Path],
                 tracker_factory: Callable[[Path], Callable[[], object]]) -> Optional[dict[str, Any]]:
        """Exports with ``export(path)``, tracks the scenes; returns this epoch's record (None: not exportable)."""
        self.best_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.best_path.parent, prefix=".validation-") as folder:
            candidate = Path(folder) / BEST
            try:
                export(candidate)
            except UnfinishedPruningError as error:  # deep-to-shallow before its blocks fade out
                entry = {"epoch": finished_epoch, "skipped": str(error)}
                self._remember(entry)
                return None
            with torch.no_grad():
                score = evaluate_sequences(tracker_factory(candidate), validation_scenes(self.section))
            entry = {"epoch": finished_epoch, **_numbers(score)}
            if self._better(entry):
                self.best = entry
                os.replace(candidate, self.best_path)
        self._remember(entry)
        return entry

    def _better(self, entry: Mapping[str, Any]) -> bool:
        value = entry[self.section["metric"]]
        if math.isnan(value):
            return self.best is None
        best = None if self.best is None else self.best[self.section["metric"]]
        return best is None or math.isnan(best) or value > best

    def _remember(self, entry: dict[str, Any]) -> None:
        self.history = [old for old in self.history if old["epoch"] != entry["epoch"]] + [entry]
        atomic_write_text(self.record_path, json.dumps({"best": self.best, "history": self.history}, indent=1))


def _numbers(score: SyntheticScore) -> dict[str, float]:
    return {"auc": score.auc, "mean_iou": score.mean_iou, "score_roc_auc": score.score_roc_auc,
            "static_auc": score.baseline_auc, "scenes": score.sequences, "seconds": round(score.seconds, 1)}
