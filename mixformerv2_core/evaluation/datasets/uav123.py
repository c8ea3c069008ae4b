"""UAV123, as distributed: ``<root>/anno/UAV123/<seq>.txt`` (NaN rows where the target is missing),
``<root>/anno/UAV123/att/<seq>.txt`` (12 attribute flags) and ``<root>/data_seq/UAV123/<folder>/%06d.jpg``.

Sequences are named ``uav_<name>`` as in the official toolkit (``uav_bike1``); ``bike1`` is an alias.
Several sequences (``bird1_1``, ``bird1_2``, ...) are sections of one image folder; their frame ranges are
stated only in the UAV123 toolkit's ``configSeqs.m``, which must then be placed in ``<root>``.
"""
from __future__ import annotations

import re
from pathlib import Path

from .base import DatasetLayoutError, BenchmarkSequence, list_images, read_attributes, read_box_file, require

ATTRIBUTES = ("SV", "ARC", "LR", "FM", "FOC", "POC", "OV", "BC", "IV", "VC", "CM", "SOB")
CONFIG_FILE = "configSeqs.m"


_ENTRY = re.compile(
    r"'name'\s*,\s*'([^']+)'\s*,\s*'path'\s*,\s*(?:'([^']+)'|fullfile\s*\(([^)]*)\))\s*,"
    r"\s*'startFrame'\s*,\s*(\d+)\s*,\s*'endFrame'\s*,\s*(\d+)"
)


def read_config(path: Path) -> dict[str, tuple[str, int, int]]:
    r"""``name -> (folder, first, last)`` from the toolkit's sequence table (1-based, inclusive).

    The path is a literal (``'D:\UAV123\data_seq\UAV123\bird1\'``) or, in some copies of the toolkit,
    ``fullfile(dataset_path,'bird1\')``; the folder is the last path component either way.
    """
    table = {}
    if not path.exists():
        return table
    for name, literal, call, first, last in _ENTRY.findall(path.read_text(errors="replace")):
        text = literal or " ".join(re.findall(r"'([^']*)'", call))
        parts = [p for p in re.split(r"[\\/\s]", text) if p]
        if not parts:
            raise DatasetLayoutError(f"{path}: sequence {name} has no folder in its path")
        table[name] = (parts[-1], int(first), int(last))
    return table


def load(root: Path, version: str = "UAV123") -> list[BenchmarkSequence]:
    root = require(Path(root), "dataset root")
    anno_dir = require(root / "anno" / version, "annotation directory")
    data_dir = require(root / "data_seq" / version, "frame directory")
    config_path = root / CONFIG_FILE
    config = read_config(config_path)
    seqs = []
    for gt_path in sorted(anno_dir.glob("*.txt")):
        name = gt_path.stem
        gt = read_box_file(gt_path)
        if name in config:
            folder, first, last = config[name]
        elif (data_dir / name).is_dir():
            folder, first, last = name, 1, len(gt)
        else:
            raise DatasetLayoutError(
                f"sequence {name}: no frame folder {data_dir / name} and no frame range for it in {config_path}"
            )
        images = list_images(data_dir / folder)
        frames = images[first - 1:last]
        if len(frames) != len(gt):
            raise DatasetLayoutError(
                f"sequence {name}: {len(frames)} frames in {data_dir / folder} (range {first}-{last}) but "
                f"{len(gt)} ground-truth rows in {gt_path}"
            )
        att = anno_dir / "att" / f"{name}.txt"
        seqs.append(BenchmarkSequence(
            name=f"uav_{name}",  # the official toolkit's name; results named after the file still load
            aliases=(name,),
            frames=frames,
            ground_truth=gt,
            dataset="uav123",
            protocol="uav",
            attributes=read_attributes(att, ATTRIBUTES) if att.exists() else (),
        ))
    if not seqs:
        raise DatasetLayoutError(f"no annotation files in {anno_dir}")
    return seqs
