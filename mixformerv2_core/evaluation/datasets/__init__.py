"""Readers for the benchmark layouts as distributed; ``load_dataset(name, root)`` is the entry point."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from . import got10k, lasot, nfs, otb, tnl2k, trackingnet, uav123
from .base import DatasetLayoutError, BenchmarkSequence, select

LOADERS: dict[str, Callable[[Path], list[BenchmarkSequence]]] = {
    "lasot": lambda root: lasot.load(root, "lasot"),
    "lasot_ext": lambda root: lasot.load(root, "lasot_ext"),
    "got10k_val": lambda root: got10k.load(root, "val"),
    "got10k_test": lambda root: got10k.load(root, "test"),
    "trackingnet": trackingnet.load,
    "otb": otb.load,
    "uav123": uav123.load,
    "tnl2k": tnl2k.load,
    "nfs": nfs.load,
}

#: Attribute names of the datasets that provide per-sequence attributes.
ATTRIBUTES = {"lasot": lasot.ATTRIBUTES, "lasot_ext": lasot.ATTRIBUTES, "otb": otb.ATTRIBUTES,
              "uav123": uav123.ATTRIBUTES}


def load_dataset(name: str, root: str | Path, sequences: Sequence[str] | None = None) -> list[BenchmarkSequence]:
    """Read benchmark ``name`` from ``root``; ``sequences`` restricts (and orders) the result."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(LOADERS)}") from None
    return select(loader(Path(root)), sequences)


__all__ = ["ATTRIBUTES", "DatasetLayoutError", "LOADERS", "BenchmarkSequence", "load_dataset"]
