"""GOT-10k validation and test sets, as distributed.

Layout: ``<root>/<split>/list.txt`` and ``<root>/<split>/<seq>/{00000001.jpg..., groundtruth.txt,
meta_info.ini, absence.label, cover.label}``. Validation sequences carry full ground truth and absence
labels (AO/SR are computed locally); test sequences only the first box (scored by the GOT-10k server).
"""
from __future__ import annotations

import re
from pathlib import Path

from .base import DatasetLayoutError, BenchmarkSequence, check_lengths, list_images, read_box_file, read_flags, read_name_list, require


def _resolution(meta_path: Path) -> tuple[int, int] | None:
    if not meta_path.exists():
        return None
    match = re.search(r"^resolution:\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", meta_path.read_text(), re.MULTILINE)
    return (int(match.group(1)), int(match.group(2))) if match else None


def read_sequence(seq_dir: Path, split: str) -> BenchmarkSequence:
    name = seq_dir.name
    gt_path = seq_dir / "groundtruth.txt"
    gt = read_box_file(gt_path)
    frames = list_images(seq_dir)
    visible = None
    if split == "test":
        gt = gt[:1]
    else:
        check_lengths(name, frames, gt, gt_path)
        cover, absence = seq_dir / "cover.label", seq_dir / "absence.label"
        if cover.exists():
            visible = read_flags(cover) > 0
        else:
            visible = read_flags(require(absence, "absence label file")) == 0
        if len(visible) != len(gt):
            raise DatasetLayoutError(f"sequence {name}: visibility labels do not have {len(gt)} entries")
    return BenchmarkSequence(
        name=name,
        frames=frames,
        ground_truth=gt,
        dataset=f"got10k_{split}",
        protocol="server" if split == "test" else "got10k",
        visible=visible,
        fps=10.0,
        image_size=_resolution(seq_dir / "meta_info.ini"),
    )


def load(root: Path, split: str = "val") -> list[BenchmarkSequence]:
    """Read the ``val`` or ``test`` split; ``root`` is the GOT-10k root or the split directory itself."""
    if split not in ("val", "test"):
        raise ValueError(f"GOT-10k split must be 'val' or 'test', got {split!r}")
    root = require(Path(root), "dataset root")
    split_dir = root if (root / "list.txt").exists() else root / split
    names = read_name_list(split_dir / "list.txt")
    return [read_sequence(require(split_dir / n, "sequence directory"), split) for n in names]
