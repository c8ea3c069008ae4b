"""Result files of the runner and the submission zips of the test servers.

* ``<out>/<seq>.txt``       one ``x,y,w,h`` line per frame (frame 0 = the initial box)
* ``<out>/<seq>_time.txt``  per-frame wall time in seconds of ``initialize`` (frame 0) / ``track``

Both are written to a temporary name and renamed into place, the time file first, so the box file's
presence means the sequence is finished and a crash never leaves a partial file that looks finished.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence as Seq

import numpy as np

from ..atomic import atomic_path, atomic_write_text
from ..results_io import format_box, read_boxes


@dataclass
class TrackOutput:
    boxes: np.ndarray  # (N, 4) x, y, w, h
    times: np.ndarray  # (N,) seconds
    scores: np.ndarray  # (N,) confidence, 1.0 for the initial frame

    @property
    def fps(self) -> float:
        """Tracked frames per second of tracking time (frame 0, the initialisation, excluded)."""
        t = float(self.times[1:].sum())
        return (len(self.times) - 1) / t if t > 0 else float("nan")


#: Box-file formats: two decimals (default: keeps sub-pixel boxes), or integers truncated toward zero as
#: pytracking writes raw results (``official``: reproduces the official numbers on the same tracker output).
RESULT_FORMATS = ("decimals2", "official")


def format_boxes(boxes: np.ndarray, result_format: str = "decimals2") -> str:
    if result_format == "official":
        return "".join(",".join(str(int(v)) for v in box) + "\n" for box in np.asarray(boxes, dtype=np.float64))
    if result_format != "decimals2":
        raise ValueError(f"unknown result format {result_format!r}; known: {', '.join(RESULT_FORMATS)}")
    return "".join(format_box(box, 2) + "\n" for box in boxes)


def result_path(out_dir: Path, name: str) -> Path:
    return out_dir / f"{name}.txt"


def save_result(out_dir: Path, name: str, output: TrackOutput, result_format: str = "decimals2") -> None:
    """Write times, then boxes, each atomically: the box file's presence means 'finished'."""
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / f"{name}_time.txt", "".join(f"{t:.6f}\n" for t in output.times))
    atomic_write_text(result_path(out_dir, name), format_boxes(output.boxes, result_format))


def load_times(out_dir: Path, name: str) -> np.ndarray | None:
    path = out_dir / f"{name}_time.txt"
    if not path.exists():
        return None
    return np.array([float(x) for x in path.read_text().split()], dtype=float)


def find_result_file(result_dir: Path, name: str, aliases: Seq[str] = ()) -> Path | None:
    """A sequence's box file in our/pytracking layout, the got10k layout or a per-sequence folder, under its
    official name or one of its aliases (older names)."""
    for n in (name, *aliases):
        for cand in (result_dir / f"{n}.txt", result_dir / n / f"{n}_001.txt", result_dir / n / f"{n}.txt"):
            if cand.exists():
                return cand
    return None


def find_repetitions(result_dir: Path, name: str, aliases: Seq[str] = ()) -> list[Path]:
    """Every repetition ``<seq>/<seq>_001.txt``, ``_002.txt``, ... of the got10k layout (the toolkit pools them),
    else the one box file :func:`find_result_file` finds (or none)."""
    for n in (name, *aliases):
        reps = sorted(p for p in (result_dir / n).glob(f"{n}_[0-9]*.txt") if p.stem[len(n) + 1:].isdigit())
        if reps:
            return reps
    single = find_result_file(result_dir, name, aliases)
    return [single] if single else []


def load_result(result_dir: Path, name: str, aliases: Seq[str] = ()) -> np.ndarray:
    path = find_result_file(Path(result_dir), name, aliases)
    if path is None:
        raise FileNotFoundError(f"no result file for sequence {name} in {result_dir}")
    return read_boxes(path)


# ---------------------------------------------------------------------------------------------- submissions


def _write_zip(zip_path: Path, members: dict[str, Path]) -> Path:
    """Zip ``archive name -> file`` atomically (a half-written zip is never left under the final name)."""
    with atomic_path(zip_path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, path in members.items():
            zf.write(path, arcname)
    return zip_path


def write_got10k_submission(out_dir: Path, names: Seq[str]) -> Path:
    """``<seq>/<seq>_001.txt`` (comma-separated boxes) + ``<seq>/<seq>_time.txt`` per sequence, zipped."""
    members = {}
    for name in names:
        members[f"{name}/{name}_001.txt"] = result_path(out_dir, name)
        if (out_dir / f"{name}_time.txt").exists():
            members[f"{name}/{name}_time.txt"] = out_dir / f"{name}_time.txt"
    return _write_zip(out_dir / "got10k_submit.zip", members)


def write_trackingnet_submission(out_dir: Path, names: Seq[str]) -> Path:
    """``<seq>.txt`` (comma-separated boxes) per sequence at the top level of the zip."""
    return _write_zip(out_dir / "trackingnet_submit.zip", {f"{n}.txt": result_path(out_dir, n) for n in names})


SUBMISSIONS: dict[str, Callable[[Path, Seq[str]], Path]] = {
    "got10k_test": write_got10k_submission,
    "got10k_val": write_got10k_submission,  # same layout, e.g. for the got10k toolkit
    "trackingnet": write_trackingnet_submission,
}


