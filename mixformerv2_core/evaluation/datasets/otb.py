"""OTB-100, as distributed: ``<root>/<Seq>/{img/*.jpg, groundtruth_rect.txt}``.

Sequences with two targets have ``groundtruth_rect.1.txt`` / ``.2.txt`` and become ``<Seq>-1`` / ``<Seq>-2``.
Where a sequence's annotation covers only part of its images, the 1-based frame range must be given in
``<root>/frame_ranges.txt`` (lines ``name first last``), because the dataset itself does not state it.
Optional attributes: ``<root>/att/<seq>.txt`` (11 flags in :data:`ATTRIBUTES` order, or names).
"""
from __future__ import annotations

from pathlib import Path

from .base import DatasetLayoutError, Sequence, list_images, read_attributes, read_box_file, require

ATTRIBUTES = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")
RANGES_FILE = "frame_ranges.txt"


def read_frame_ranges(path: Path) -> dict[str, tuple[int, int]]:
    ranges = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                ranges[parts[0]] = (int(parts[1]), int(parts[2]))
    return ranges


def select_frames(name: str, images: list[Path], n_gt: int, ranges: dict, ranges_path: Path) -> list[Path]:
    """Frames an annotation of ``n_gt`` rows refers to: all images, or the declared 1-based range."""
    if name in ranges:
        first, last = ranges[name]
        frames = images[first - 1:last]
    else:
        frames = images
    if len(frames) != n_gt:
        raise DatasetLayoutError(
            f"sequence {name}: {len(frames)} frames but {n_gt} ground-truth rows; add its 1-based frame range "
            f"as a line '{name} FIRST LAST' to {ranges_path}"
        )
    return frames


def load(root: Path) -> list[Sequence]:
    root = require(Path(root), "dataset root")
    ranges_path = root / RANGES_FILE
    ranges = read_frame_ranges(ranges_path)
    seqs = []
    for seq_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "att"):
        gt_files = sorted(seq_dir.glob("groundtruth_rect*.txt"))
        if not gt_files:
            raise DatasetLayoutError(f"missing ground-truth file: {seq_dir / 'groundtruth_rect.txt'}")
        images = list_images(seq_dir / "img")
        for gt_path in gt_files:
            suffix = gt_path.name[len("groundtruth_rect"):-len(".txt")].strip(".")
            name = f"{seq_dir.name}-{suffix}" if suffix else seq_dir.name
            gt = read_box_file(gt_path)
            att = root / "att" / f"{name}.txt"
            seqs.append(Sequence(
                name=name,
                frames=select_frames(name, images, len(gt), ranges, ranges_path),
                ground_truth=gt,
                dataset="otb",
                protocol="ope",
                attributes=read_attributes(att, ATTRIBUTES) if att.exists() else (),
            ))
    if not seqs:
        raise DatasetLayoutError(f"no OTB sequence directories under {root}")
    return seqs
