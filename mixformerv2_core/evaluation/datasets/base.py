"""What every benchmark reader returns, and the file helpers they share."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ...errors import InputError
from ...results_io import read_boxes

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class DatasetLayoutError(InputError, FileNotFoundError):
    """A dataset directory does not have the layout the benchmark distributes; names the missing file."""


@dataclass
class BenchmarkSequence:
    """One benchmark sequence: frame files, ground truth and the flags its protocol needs.

    ``ground_truth`` has one ``x, y, w, h`` row per frame (NaN rows where the benchmark has none) or, for
    test sets scored by a server (GOT-10k test, TrackingNet), only the initialisation box.
    ``visible`` is False where the benchmark marks the target absent / fully occluded / out of view.
    ``protocol`` names the OPE rule set of :mod:`mixformerv2_core.evaluation.metrics` (``"ope"``,
    ``"lasot"``, ``"uav"``), ``"got10k"`` for AO/SR, or ``"server"`` when only a submission can be scored.
    """

    name: str
    frames: list[Path]
    ground_truth: np.ndarray
    dataset: str
    protocol: str
    visible: np.ndarray | None = None
    attributes: tuple[str, ...] = ()
    language: str | None = None
    object_class: str | None = None
    fps: float = 30.0
    image_size: tuple[int, int] | None = None  # (width, height) where the dataset states it
    extra: dict = field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # other names result files may use (the project's older names)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def init_box(self) -> np.ndarray:
        return self.ground_truth[0]

    @property
    def fully_annotated(self) -> bool:
        return len(self.ground_truth) == len(self.frames) and self.protocol != "server"


def require(path: Path, what: str = "") -> Path:
    """Return ``path`` or raise an error that names the missing file or directory."""
    if not path.exists():
        kind = what or ("directory" if not path.suffix else "file")
        raise DatasetLayoutError(f"missing {kind}: {path}")
    return path


def read_box_file(path: Path) -> np.ndarray:
    """Ground-truth ``x, y, w, h`` rows (commas, tabs or spaces; NaN rows kept); layout errors name the file."""
    try:
        return read_boxes(require(path, "ground-truth file"))
    except ValueError as exc:
        raise DatasetLayoutError(str(exc)) from None


def read_flags(path: Path) -> np.ndarray:
    """Read 0/1 flags written one per line or comma-separated on one line."""
    require(path, "label file")
    tokens = [t for t in re.split(r"[,\s]+", path.read_text()) if t]
    try:
        return np.asarray([float(t) for t in tokens], dtype=np.float64)
    except ValueError:
        raise DatasetLayoutError(f"{path}: expected numeric flags") from None


def read_attributes(path: Path, names: Sequence[str]) -> tuple[str, ...]:
    """Attributes of one sequence from ``path``: 0/1 flags in ``names`` order, or the names themselves."""
    tokens = [t for t in re.split(r"[,\s]+", path.read_text()) if t]
    if tokens and all(re.fullmatch(r"[01](\.0*)?", t) for t in tokens):
        if len(tokens) != len(names):
            raise DatasetLayoutError(f"{path}: expected {len(names)} attribute flags ({', '.join(names)})")
        return tuple(n for n, t in zip(names, tokens) if float(t) > 0)
    unknown = [t for t in tokens if t not in names]
    if unknown:
        raise DatasetLayoutError(f"{path}: unknown attributes {unknown}; known: {', '.join(names)}")
    return tuple(t for t in names if t in tokens)


def frame_number(path: Path) -> int | None:
    """The frame number in an image file name (the last run of digits), or None."""
    digits = re.findall(r"\d+", path.stem)
    return int(digits[-1]) if digits else None


def _numeric_key(path: Path) -> tuple:
    number = frame_number(path)
    return (math.inf if number is None else number, path.name)


def list_images(directory: Path, order: str = "numeric") -> list[Path]:
    """Image files of a frame directory in numeric order (``2.jpg`` before ``10.jpg``) or, with
    ``order="lexicographic"``, in plain file-name order (``10.jpg`` before ``2.jpg``).
    """
    require(directory, "frame directory")
    with os.scandir(directory) as it:
        files = [Path(e.path) for e in it if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES)]
    if not files:
        raise DatasetLayoutError(f"no image files in {directory}")
    return sorted(files, key=_numeric_key if order == "numeric" else lambda p: p.name)


def check_lengths(name: str, frames: list[Path], gt: np.ndarray, gt_path: Path) -> None:
    if len(frames) != len(gt):
        raise DatasetLayoutError(
            f"sequence {name}: {len(frames)} frames but {len(gt)} ground-truth rows in {gt_path}"
        )


def read_name_list(path: Path) -> list[str]:
    require(path, "sequence list")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def select(sequences: Iterable[BenchmarkSequence], names: Sequence[str] | None) -> list[BenchmarkSequence]:
    """Keep the sequences named in ``names`` (official names or aliases, in that order); unknown names are an error."""
    seqs = list(sequences)
    if not names:
        return seqs
    by_name = {alias: s for s in seqs for alias in s.aliases}
    by_name.update({s.name: s for s in seqs})
    missing = [n for n in names if n not in by_name]
    if missing:
        raise DatasetLayoutError(f"sequences not in the dataset: {', '.join(missing)}")
    return [by_name[n] for n in names]
