"""OTB-100, as distributed: ``<root>/<Seq>/{img/*.jpg, groundtruth_rect.txt}``, read frame for frame as the
official toolkit defines each sequence (:mod:`.otb_sequences`: frame ranges, init-omit, which targets).

Sequences are named as the official toolkit names them (``Jogging_1``, ``Skating2_2``, ``Human4_2``); the
older ``Jogging-1`` form is kept as an alias so result files written under it still load. A folder that is
not one of the 100 official sequences is read whole: every non-empty ``groundtruth_rect[.<n>].txt`` is one
target over all images. ``<root>/frame_ranges.txt`` (optional, lines ``name first last [init_omit]`` in
frame numbers) overrides or adds a definition. Optional attributes: ``<root>/att/<seq>.txt`` (11 flags in
:data:`ATTRIBUTES` order, or names).
"""
from __future__ import annotations

from pathlib import Path

from .base import DatasetLayoutError, BenchmarkSequence, frame_number, list_images, read_attributes, read_box_file, require
from .otb_sequences import OTB100, OTBSequence

ATTRIBUTES = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")
RANGES_FILE = "frame_ranges.txt"


def official_name(folder: str, target: str) -> str:
    return f"{folder}_{target}" if target else folder


def read_frame_ranges(path: Path) -> dict[str, tuple[int, int, int]]:
    """``name -> (first, last, init_omit)`` from an optional override file; malformed lines are an error."""
    ranges = {}
    if not path.exists():
        return ranges
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        try:
            if len(parts) not in (3, 4):
                raise ValueError
            numbers = [int(v) for v in parts[1:]] + [0] * (4 - len(parts))
        except ValueError:
            raise DatasetLayoutError(f"{path}:{line_no}: expected 'name first last [init_omit]', got {line!r}") from None
        ranges[parts[0]] = tuple(numbers)
    return ranges


def _definitions(seq_dir: Path, overrides: dict) -> list[OTBSequence]:
    """The targets of one folder: the official definitions, else every non-empty annotation file."""
    official = [d for d in OTB100.values() if d.folder == seq_dir.name]
    if not official:
        for gt_path in sorted(seq_dir.glob("groundtruth_rect*.txt")):
            if gt_path.stat().st_size == 0 or not gt_path.read_text().strip():
                continue  # an empty annotation (Human4's first target) has nothing to track
            target = gt_path.name[len("groundtruth_rect"):-len(".txt")].strip(".")
            official.append(OTBSequence(official_name(seq_dir.name, target), seq_dir.name, target, 0, 0, 0))
        if not official:
            raise DatasetLayoutError(f"missing ground-truth file: {seq_dir / 'groundtruth_rect.txt'}")
    out = []
    for d in official:
        key = next((k for k in (d.name, f"{d.folder}-{d.target}") if k in overrides), None)
        if key is not None:  # the official or the older name
            first, last, omit = overrides[key]
            d = d._replace(first=first, last=last, init_omit=omit)
        out.append(d)
    return out


def read_sequence(seq_dir: Path, d: OTBSequence, root: Path) -> BenchmarkSequence:
    gt_path = require(seq_dir / d.annotation, "ground-truth file")
    gt = read_box_file(gt_path)
    images = list_images(seq_dir / "img")
    if d.last:  # a stated range: the frames numbered first + init_omit .. last
        first = d.first + d.init_omit
        frames = [p for p in images if first <= (frame_number(p) or 0) <= d.last]
        if len(frames) != d.last - first + 1:
            raise DatasetLayoutError(
                f"sequence {d.name}: the official definition uses frames {first}-{d.last} of {seq_dir / 'img'}, "
                f"but {len(frames)} of them are there"
            )
        gt = gt[d.init_omit:]
        if len(gt) != len(frames):
            raise DatasetLayoutError(
                f"sequence {d.name}: frames {first}-{d.last} ({len(frames)}) but {len(gt)} ground-truth rows in "
                f"{gt_path}" + (f" after dropping the first {d.init_omit}" if d.init_omit else "")
            )
    else:
        frames = images
        if len(frames) != len(gt):
            raise DatasetLayoutError(
                f"sequence {d.name}: {len(frames)} frames but {len(gt)} ground-truth rows in {gt_path}; it is not "
                f"an official OTB-100 sequence, so add its frame numbers as a line '{d.name} FIRST LAST' to "
                f"{root / RANGES_FILE}"
            )
    aliases = (f"{d.folder}-{d.target}",) if d.target else ()
    att = next((p for p in (root / "att" / f"{n}.txt" for n in (d.name, *aliases)) if p.exists()), None)
    return BenchmarkSequence(
        name=d.name,
        frames=frames,
        ground_truth=gt,
        dataset="otb",
        protocol="ope",
        attributes=read_attributes(att, ATTRIBUTES) if att else (),
        aliases=aliases,
    )


def load(root: Path) -> list[BenchmarkSequence]:
    root = require(Path(root), "dataset root")
    overrides = read_frame_ranges(root / RANGES_FILE)
    seqs = []
    for seq_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "att"):
        seqs.extend(read_sequence(seq_dir, d, root) for d in _definitions(seq_dir, overrides))
    if not seqs:
        raise DatasetLayoutError(f"no OTB sequence directories under {root}")
    return seqs
