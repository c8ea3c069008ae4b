"""Per-frame box files in the format the common benchmarks use: one ``x,y,w,h`` line per frame."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Sequence, Union

import numpy as np

from .atomic import atomic_write_text

PathLike = Union[str, os.PathLike]
_SEPARATORS = re.compile(r"[,\t ]+")


def format_box(box: Sequence[float], decimals: int = 2) -> str:
    return ",".join(f"{float(v):.{decimals}f}" for v in box)


def write_boxes(path: PathLike, boxes: Iterable[Sequence[float]], decimals: int = 2) -> Path:
    """Write atomically (a crash never leaves a half file that looks finished)."""
    return atomic_write_text(path, "".join(format_box(box, decimals) + "\n" for box in boxes))


def read_boxes(path: PathLike) -> np.ndarray:
    """Read ``x,y,w,h`` rows separated by commas, tabs or spaces; ``NaN`` rows are kept as NaN."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            values = [v for v in _SEPARATORS.split(line) if v]
            if len(values) < 4:
                raise ValueError(f"{path}:{number}: expected 4 values (x,y,w,h), got {line!r}")
            try:
                rows.append([float(v) for v in values[:4]])
            except ValueError:
                raise ValueError(f"{path}:{number}: not numbers: {line!r}") from None
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)
