"""TNL2K test set, as distributed: ``<root>/<seq>/{imgs/*, groundtruth.txt, language.txt}``.

Frames are taken in lexicographic file-name order, as the official loader lists them: where a sequence's
names are unpadded (``1.jpg`` ... ``10.jpg``) that is not numeric order, and the ground truth follows it.
"""
from __future__ import annotations

from pathlib import Path

from .base import DatasetLayoutError, BenchmarkSequence, check_lengths, list_images, read_box_file, require


def load(root: Path) -> list[BenchmarkSequence]:
    root = require(Path(root), "dataset root")
    seqs = []
    for seq_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        gt_path = require(seq_dir / "groundtruth.txt", "ground-truth file")
        gt = read_box_file(gt_path)
        frames = list_images(seq_dir / "imgs", order="lexicographic")
        check_lengths(seq_dir.name, frames, gt, gt_path)
        lang = seq_dir / "language.txt"
        seqs.append(BenchmarkSequence(
            name=seq_dir.name,
            frames=frames,
            ground_truth=gt,
            dataset="tnl2k",
            protocol="ope",
            language=lang.read_text().strip() if lang.exists() else None,
        ))
    if not seqs:
        raise DatasetLayoutError(f"no TNL2K sequence directories under {root}")
    return seqs
