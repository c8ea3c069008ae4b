"""Files out of a compiled Qt resource bundle (``.rcc``), the form in which GCompris ships its photographs.

The fetch script (scripts/fetch_training_data.sh) unpacks the chosen bundles of Debian's ``gcompris-qt-data``
and calls this module to write their photos as plain files, so that the registry lists them like any other
package's. The binary layout (a header, a tree of nodes, a data block and a name block) is described in
docs/demo_model.md ("Data sources and licences"); every offset is checked against the file's size, so a
damaged or foreign file is refused with a message rather than read out of bounds.

    python -m mixformerv2_training.data.qt_resources BUNDLE.rcc DEST [PREFIX ...]
"""
from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path, PurePosixPath
from typing import Optional, Sequence

from mixformerv2_core.cli.runner import command_main

from .readers import DatasetError

MAGIC = b"qres"
_DIRECTORY = 0x02
_ZLIB = 0x01
_ZSTD = 0x04
_MAX_DEPTH = 64
MAX_FILE_BYTES = 64 << 20  # a compressed file may not inflate beyond this (GCompris's largest photo: ~1 MB)


class _Bundle:
    """Bounds-checked reads of one bundle's bytes."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.name = data, name
        if len(data) < 20 or data[:4] != MAGIC:
            raise DatasetError(f"{name}: not a compiled Qt resource file (no 'qres' header)")
        self.version, self.tree, self.payload, self.names = struct.unpack(">IIII", data[4:20])
        if self.version not in (1, 2, 3):
            raise DatasetError(f"{name}: Qt resource format version {self.version} is not supported (1-3)")
        self.node_size = 14 if self.version == 1 else 22

    def unpack(self, fmt: str, offset: int) -> tuple:
        end = offset + struct.calcsize(fmt)
        if offset < 0 or end > len(self.data):
            raise DatasetError(f"{self.name}: damaged (an offset points past the end of the file)")
        return struct.unpack(fmt, self.data[offset:end])

    def slice(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > len(self.data):
            raise DatasetError(f"{self.name}: damaged (a file's data runs past the end of the file)")
        return self.data[offset:offset + length]

    def node_name(self, offset: int) -> str:
        (length,) = self.unpack(">H", self.names + offset)
        return self.slice(self.names + offset + 6, 2 * length).decode("utf-16-be", errors="replace")

    def contents(self, flags: int, offset: int, path: str) -> bytes:
        (length,) = self.unpack(">I", self.payload + offset)
        raw = self.slice(self.payload + offset + 4, length)
        if flags & _ZSTD:
            raise DatasetError(f"{self.name}: {path} is zstd-compressed, which this reader does not handle")
        if flags & _ZLIB:
            return self._inflate(raw, path)
        return raw

    def _inflate(self, raw: bytes, path: str) -> bytes:
        """A zlib-compressed file, never inflated past its stated size nor past MAX_FILE_BYTES."""
        if len(raw) < 4:
            raise DatasetError(f"{self.name}: damaged ({path} has no size)")
        (size,) = struct.unpack(">I", raw[:4])
        if size > MAX_FILE_BYTES:
            raise DatasetError(f"{self.name}: {path} claims {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
        try:
            contents = zlib.decompressobj().decompress(raw[4:], size + 1)
        except zlib.error as error:
            raise DatasetError(f"{self.name}: {path} does not decompress ({error})") from None
        if len(contents) != size:
            raise DatasetError(f"{self.name}: {path} inflates to other than its stated {size} bytes")
        return contents


def read_bundle(path: Path) -> dict[str, bytes]:
    """Every file of the bundle at ``path`` by its resource path (``a/b/c.webp``, no leading slash)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"Qt resource file not found: {path}")
    bundle = _Bundle(path.read_bytes(), str(path))
    files: dict[str, bytes] = {}
    _walk(bundle, 0, PurePosixPath(), files, set())
    return files


def _walk(bundle: _Bundle, index: int, parent: PurePosixPath, files: dict[str, bytes], seen: set[int]) -> None:
    if index in seen or len(parent.parts) > _MAX_DEPTH:
        raise DatasetError(f"{bundle.name}: damaged (its tree of files loops)")
    seen.add(index)
    offset = bundle.tree + index * bundle.node_size
    name_offset, flags = bundle.unpack(">IH", offset)
    path = parent / bundle.node_name(name_offset) if index else parent
    if flags & _DIRECTORY:
        count, first = bundle.unpack(">II", offset + 6)
        for child in range(first, first + count):
            _walk(bundle, child, path, files, seen)
        return
    _, _, data_offset = bundle.unpack(">HHI", offset + 6)
    name = str(path)
    if name.startswith("/") or ".." in path.parts:
        raise DatasetError(f"{bundle.name}: a file name leaves the bundle ({name!r})")
    files[name] = bundle.contents(flags, data_offset, name)


def extract(bundle_path: Path, destination: Path, prefixes: Sequence[str] = ()) -> list[Path]:
    """Write the bundle's files under ``destination`` (those under one of ``prefixes`` if any are given)."""
    written = []
    for name, contents in sorted(read_bundle(bundle_path).items()):
        if prefixes and not any(name == p or name.startswith(p.rstrip("/") + "/") for p in prefixes):
            continue
        target = Path(destination) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(contents)
        written.append(target)
    if prefixes and not written:
        raise DatasetError(f"{bundle_path}: nothing under {', '.join(prefixes)}")
    return written


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mixformerv2_training.data.qt_resources",
                                     description="Write the files of a compiled Qt resource bundle (.rcc).")
    parser.add_argument("bundle", type=Path, help="the .rcc file")
    parser.add_argument("destination", type=Path, help="folder to write into (resource paths kept)")
    parser.add_argument("prefixes", nargs="*", help="only files under these resource folders")
    return parser


def run(args: argparse.Namespace) -> int:
    written = extract(args.bundle, args.destination, args.prefixes)
    print(f"{args.bundle.name}: {len(written)} files into {args.destination}", file=sys.stderr)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
