"""LaSOT test set (280 sequences, protocol II) and LaSOT extension (150 sequences), as distributed.

The two are scored with different rules (see :data:`..metrics.PROTOCOLS`): ``lasot`` and ``lasot_ext``,
as pytracking evaluates ``lasot`` and ``lasot_extension_subset``.

Layout: ``<root>/<class>/<class>-<n>/{img/%08d.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt,
nlp.txt}``; the class level may be absent. The test split is taken from ``<root>/testing_set.txt`` when the
full 1400-sequence dataset is given; a test-only download is used as it is. Optional per-sequence
attributes: ``<root>/att/<seq>.txt`` (14 flags in the order of :data:`ATTRIBUTES`, or attribute names).
"""
from __future__ import annotations

from pathlib import Path

from .base import (
    DatasetLayoutError, BenchmarkSequence, check_lengths, list_images, read_attributes, read_box_file, read_flags,
    read_name_list, require,
)

ATTRIBUTES = ("IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV", "LR", "ARC")
SPLIT_FILE = "testing_set.txt"


def _sequence_dirs(root: Path) -> dict[str, Path]:
    found = {}
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        if (child / "groundtruth.txt").exists():
            found[child.name] = child
            continue
        for seq in sorted(p for p in child.iterdir() if p.is_dir()):
            if (seq / "groundtruth.txt").exists() or (seq / "img").is_dir():
                found[seq.name] = seq
    return found


def read_sequence(seq_dir: Path, root: Path, dataset: str) -> BenchmarkSequence:
    name = seq_dir.name
    gt_path = seq_dir / "groundtruth.txt"
    gt = read_box_file(gt_path)
    occluded = read_flags(require(seq_dir / "full_occlusion.txt"))
    out_of_view = read_flags(require(seq_dir / "out_of_view.txt"))
    if len(occluded) != len(gt) or len(out_of_view) != len(gt):
        raise DatasetLayoutError(f"sequence {name}: visibility flags do not have {len(gt)} entries")
    frames = list_images(seq_dir / "img")
    check_lengths(name, frames, gt, gt_path)
    nlp = seq_dir / "nlp.txt"
    att = root / "att" / f"{name}.txt"
    return BenchmarkSequence(
        name=name,
        frames=frames,
        ground_truth=gt,
        dataset=dataset,
        protocol="lasot" if dataset == "lasot" else "lasot_ext",
        visible=(occluded == 0) & (out_of_view == 0),
        attributes=read_attributes(att, ATTRIBUTES) if att.exists() else (),
        language=nlp.read_text().strip() if nlp.exists() else None,
        object_class=name.rsplit("-", 1)[0],
    )


def load(root: Path, dataset: str = "lasot") -> list[BenchmarkSequence]:
    """Read LaSOT test (``dataset="lasot"``) or LaSOT extension (``"lasot_ext"``) from ``root``."""
    root = require(Path(root), "dataset root")
    dirs = _sequence_dirs(root)
    split = root / SPLIT_FILE
    if dataset == "lasot" and split.exists():
        names = read_name_list(split)
        missing = [n for n in names if n not in dirs]
        if missing:
            raise DatasetLayoutError(
                f"{len(missing)} sequences of {split} are missing under {root}, e.g. {missing[0]}"
            )
    else:
        names = list(dirs)
    if not names:
        raise DatasetLayoutError(f"no LaSOT sequences (directories with groundtruth.txt) under {root}")
    return [read_sequence(dirs[n], root, dataset) for n in names]
