"""Readers for the training sets as distributed: LaSOT, GOT-10k, TrackingNet and COCO 2017.

Annotations are read lazily and cached per process; a missing directory or file raises
:class:`DatasetError` naming it, at construction (layout) or when the sequence is first used (its files).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

import cv2
import numpy as np

from mixformerv2_core.errors import InputError
from mixformerv2_core.frame_sources import open_source, read_capture

from .sequences import SequenceInfo

PathLike = Union[str, Path]


class DatasetError(InputError, FileNotFoundError):
    """A training set is missing, partial or malformed; the message names the path."""


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise DatasetError(f"{what} not found: {path}")
    return path


def read_boxes(path: Path) -> np.ndarray:
    """``x,y,w,h`` per line (comma, tab or space separated); NaN rows stay NaN."""
    _require(path, "annotation file")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append([float(v) for v in line.replace(",", " ").replace("\t", " ").split()[:4]])
        except ValueError:
            raise DatasetError(f"{path}:{number}: not four numbers: {line!r}") from None
    boxes = np.array(rows, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        raise DatasetError(f"annotation file is empty: {path}")
    return boxes


def read_flags(path: Path, count: int) -> np.ndarray:
    """One integer per line or comma separated (LaSOT occlusion files use commas)."""
    text = _require(path, "label file").read_text().replace(",", "\n").split()
    values = np.array([float(v) for v in text], dtype=np.float64)
    if len(values) != count:
        raise DatasetError(f"{path} has {len(values)} entries for {count} frames")
    return values


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"frame missing or unreadable: {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_list(path: Path) -> list[str]:
    return [line.strip() for line in _require(path, "sequence list").read_text().splitlines() if line.strip()]


class _VideoDataset:
    """Shared caching and frame reading; subclasses say where boxes, visibility and frames live."""

    is_video = True

    def __init__(self, name: str, sequences: Sequence[Path]) -> None:
        if not sequences:
            raise DatasetError(f"{name}: no sequences found")
        self.name, self.sequences = name, list(sequences)
        self._infos: dict[int, SequenceInfo] = {}

    def __len__(self) -> int:
        return len(self.sequences)

    def sequence_info(self, index: int) -> SequenceInfo:
        if index not in self._infos:
            self._infos[index] = self._read_info(self.sequences[index])
        return self._infos[index]

    def frames(self, index: int, frame_ids: Sequence[int]) -> list[np.ndarray]:
        return [read_image(self._frame_path(self.sequences[index], int(i))) for i in frame_ids]

    def _read_info(self, seq: Path) -> SequenceInfo:
        raise NotImplementedError

    def _frame_path(self, seq: Path, frame_id: int) -> Path:
        raise NotImplementedError


class LaSOT(_VideoDataset):
    """``root/<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/00000001.jpg}``.

    ``split_file``: sequence names to use, one a line (the training split: 1,120 sequences); default
    ``root/training_set.txt`` if present, else every sequence found.
    """

    def __init__(self, root: PathLike, split_file: Optional[PathLike] = None) -> None:
        root = _require(Path(root), "LaSOT root")
        split = Path(split_file) if split_file else root / "training_set.txt"
        if split_file or split.exists():
            names = read_list(split)
            sequences = [_require(root / name.rsplit("-", 1)[0] / name, "LaSOT sequence") for name in names]
        else:
            sequences = sorted(p for p in root.glob("*/*-*") if p.is_dir())
        super().__init__("lasot", sequences)

    def _read_info(self, seq: Path) -> SequenceInfo:
        boxes = read_boxes(seq / "groundtruth.txt")
        occluded = read_flags(seq / "full_occlusion.txt", len(boxes))
        out_of_view = read_flags(seq / "out_of_view.txt", len(boxes))
        return SequenceInfo(boxes, (occluded == 0) & (out_of_view == 0))

    def _frame_path(self, seq: Path, frame_id: int) -> Path:
        return seq / "img" / f"{frame_id + 1:08d}.jpg"


class GOT10k(_VideoDataset):
    """``root/train/GOT-10k_Train_000001/{groundtruth.txt, absence.label, cover.label, 00000001.jpg}``.

    ``split_file``: the vot-train / vot-val split (sequence names or 0-based indices into ``list.txt``, one
    a line, as the official training code ships them); default: every training sequence.
    """

    def __init__(self, root: PathLike, split_file: Optional[PathLike] = None) -> None:
        train = _require(Path(root) / "train", "GOT-10k train folder")
        names = read_list(train / "list.txt") if (train / "list.txt").exists() else sorted(
            p.name for p in train.iterdir() if p.is_dir())
        if split_file:
            entries = read_list(Path(split_file))
            names = [names[int(e)] if e.isdigit() else e for e in entries]
        super().__init__("got10k", [_require(train / name, "GOT-10k sequence") for name in names])

    def _read_info(self, seq: Path) -> SequenceInfo:
        boxes = read_boxes(seq / "groundtruth.txt")
        absent = read_flags(seq / "absence.label", len(boxes))
        cover = read_flags(seq / "cover.label", len(boxes))
        return SequenceInfo(boxes, (absent == 0) & (cover > 0))

    def _frame_path(self, seq: Path, frame_id: int) -> Path:
        return seq / f"{frame_id + 1:08d}.jpg"


class TrackingNet(_VideoDataset):
    """``root/TRAIN_<i>/{anno/<name>.txt, frames/<name>/<k>.jpg}`` for the chosen chunks (default 0..11)."""

    def __init__(self, root: PathLike, chunks: Sequence[int] = tuple(range(12))) -> None:
        sequences = []
        for chunk in chunks:
            anno = _require(Path(root) / f"TRAIN_{chunk}" / "anno", "TrackingNet annotation folder")
            sequences += sorted(anno.glob("*.txt"))
        super().__init__("trackingnet", sequences)

    def _read_info(self, anno: Path) -> SequenceInfo:
        boxes = read_boxes(anno)
        return SequenceInfo(boxes, np.ones(len(boxes), dtype=bool))

    def _frame_path(self, anno: Path, frame_id: int) -> Path:
        return anno.parent.parent / "frames" / anno.stem / f"{frame_id}.jpg"


class COCO:
    """COCO 2017: every non-crowd instance of ``annotations/instances_<split>.json`` is a one-frame sequence."""

    is_video = False

    def __init__(self, root: PathLike, split: str = "train2017") -> None:
        self.name = "coco"
        root = _require(Path(root), "COCO root")
        self.images_dir = _require(root / split, "COCO image folder")
        annotation_file = _require(root / "annotations" / f"instances_{split}.json", "COCO annotation file")
        try:
            data = json.loads(annotation_file.read_text())
            files = {image["id"]: image["file_name"] for image in data["images"]}
            self.items = [(files[a["image_id"]], a["bbox"]) for a in data["annotations"] if not a.get("iscrowd", 0)]
        except (KeyError, ValueError) as error:
            raise DatasetError(f"{annotation_file} is not a COCO instances file ({error})") from None

    def __len__(self) -> int:
        return len(self.items)

    def sequence_info(self, index: int) -> SequenceInfo:
        return SequenceInfo(np.array([self.items[index][1]], dtype=np.float64), np.ones(1, dtype=bool))

    def frames(self, index: int, frame_ids: Sequence[int]) -> list[np.ndarray]:
        image = read_image(self.images_dir / self.items[index][0])
        return [image for _ in frame_ids]


READERS: dict[str, Callable] = {"lasot": LaSOT, "got10k": GOT10k, "trackingnet": TrackingNet, "coco": COCO}


def video_frames(path: Path) -> Iterator[np.ndarray]:
    """BGR frames of a video file (OpenCV's decoder), or of a folder of frames in the order of their numbered
    names (the core's image-folder source).
    """
    if Path(path).is_dir():
        return open_source(str(path)).frames
    return read_capture(cv2.VideoCapture(str(path)))
