"""TrackingNet test set (511 sequences), as distributed: ``<root>/TEST/{anno,frames}``.

``anno/<seq>.txt`` holds only the initial box; ``frames/<seq>/<i>.jpg`` are numbered from 0. Results are
scored by the TrackingNet server.
"""
from __future__ import annotations

from pathlib import Path

from .base import DatasetLayoutError, BenchmarkSequence, list_images, read_box_file, require


def load(root: Path, split: str = "TEST") -> list[BenchmarkSequence]:
    root = require(Path(root), "dataset root")
    split_dir = root if (root / "anno").is_dir() else root / split
    anno_dir = require(split_dir / "anno", "annotation directory")
    frames_dir = require(split_dir / "frames", "frame directory")
    annos = sorted(anno_dir.glob("*.txt"))
    if not annos:
        raise DatasetLayoutError(f"no annotation files in {anno_dir}")
    return [
        BenchmarkSequence(
            name=a.stem,
            frames=list_images(frames_dir / a.stem),
            ground_truth=read_box_file(a)[:1],
            dataset="trackingnet",
            protocol="server",
        )
        for a in annos
    ]
