"""Need for Speed, 30 fps version, as distributed: ``<root>/<seq>/30/<seq>/*.jpg`` with the annotation
``<root>/<seq>/30/<seq>.txt`` (rows ``id xmin ymin xmax ymax frame lost occluded generated "label"``).

Sequences are named ``nfs_<seq>`` as in the official toolkit; ``<seq>`` is an alias.
Some 30 fps annotation files list every 240 fps frame; then every 8th row is the 30 fps frame. A one-frame
length difference (present in a few sequences) is resolved by dropping the unmatched tail.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import DatasetLayoutError, BenchmarkSequence, list_images, require


def read_annotation(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Boxes ``x, y, w, h`` and the per-row 'occluded' flag."""
    rows, occluded = [], []
    for line_no, line in enumerate(require(path, "annotation file").read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            x1, y1, x2, y2 = (float(v) for v in parts[1:5])
            occluded.append(int(parts[7]) if len(parts) > 7 else 0)
        except (ValueError, IndexError):
            raise DatasetLayoutError(f"{path}:{line_no}: not an NfS annotation row: {line!r}") from None
        rows.append((x1, y1, x2 - x1, y2 - y1))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4), np.asarray(occluded, dtype=bool)


def load(root: Path, fps: int = 30) -> list[BenchmarkSequence]:
    root = require(Path(root), "dataset root")
    seqs = []
    for seq_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        name = seq_dir.name
        gt, occluded = read_annotation(seq_dir / str(fps) / f"{name}.txt")
        frames = list_images(seq_dir / str(fps) / name)
        if len(frames) and abs(len(gt) / len(frames) - 8) < 1:
            gt, occluded = gt[::8], occluded[::8]
        if abs(len(frames) - len(gt)) > 1:
            raise DatasetLayoutError(f"sequence {name}: {len(frames)} frames but {len(gt)} annotation rows")
        n = min(len(frames), len(gt))
        seqs.append(BenchmarkSequence(
            name=f"nfs_{name}", aliases=(name,), frames=frames[:n], ground_truth=gt[:n], dataset="nfs", protocol="ope", fps=float(fps),
            extra={"occluded": occluded[:n]},
        ))
    if not seqs:
        raise DatasetLayoutError(f"no NfS sequence directories under {root}")
    return seqs
