"""The Qt resource reader that unpacks GCompris's photos: bundles written here in the documented layout."""
from __future__ import annotations

import struct
import zlib

import cv2
import pytest

from mixformerv2_training.data.qt_resources import extract, main, read_bundle
from mixformerv2_training.data.readers import DatasetError
from mixformerv2_training.data.registry import PHOTOS, SourceMissing, photo_paths

PHOTO = b"\x00RIFF-not-really-a-photo\xff" * 3
NOTE = b"compressed text " * 20


def _zlib(contents: bytes, stated: int | None = None) -> bytes:
    """A file as Qt stores it compressed: its (stated) size, then the zlib stream."""
    return struct.pack(">I", len(contents) if stated is None else stated) + zlib.compress(contents)


def _bundle(tree: list[tuple], files: dict[int, bytes]) -> bytes:
    """A version-2 bundle. ``tree``: (name, flags, a, b) per node, in index order; a directory's a/b are its
    child count and first child, a file's a is ignored and b its key in ``files`` (the bytes as stored).
    """
    names, name_offsets = b"", {}
    for name, *_ in tree:
        name_offsets[name] = len(names)
        encoded = name.encode("utf-16-be")
        names += struct.pack(">HI", len(name), 0) + encoded
    payload, data_offsets = b"", {}
    for key, stored in files.items():
        data_offsets[key] = len(payload)
        payload += struct.pack(">I", len(stored)) + stored
    nodes = b""
    for name, flags, a, b in tree:
        body = struct.pack(">II", a, b) if flags & 2 else struct.pack(">HHI", 0, 0, data_offsets[b])
        nodes += struct.pack(">IH", name_offsets[name], flags) + body + struct.pack(">Q", 0)
    tree_at = 20
    payload_at = tree_at + len(nodes)
    names_at = payload_at + len(payload)
    return b"qres" + struct.pack(">IIII", 2, tree_at, payload_at, names_at) + nodes + payload + names


TREE = [("", 2, 2, 1),                 # root: two children from index 1
        ("a", 2, 2, 3),                # folder a: two children from index 3
        ("top.bin", 0, 0, 2),
        ("x.webp", 0, 0, 0),
        ("y.txt", 1, 0, 1)]            # zlib-compressed
FILES = {0: PHOTO, 1: _zlib(NOTE), 2: b"top"}


@pytest.fixture
def bundle(tmp_path):
    path = tmp_path / "photos.rcc"
    path.write_bytes(_bundle(TREE, FILES))
    return path


def test_every_file_comes_out_by_its_resource_path(bundle):
    assert read_bundle(bundle) == {"a/x.webp": PHOTO, "a/y.txt": NOTE, "top.bin": b"top"}


def test_extract_writes_only_the_folders_asked_for(bundle, tmp_path):
    written = extract(bundle, tmp_path / "out", ["a"])
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["a/x.webp", "a/y.txt"]
    assert (tmp_path / "out/a/x.webp").read_bytes() == PHOTO and not (tmp_path / "out/top.bin").exists()
    with pytest.raises(DatasetError, match="nothing under b/c"):
        extract(bundle, tmp_path / "out", ["b/c"])


def test_a_damaged_or_foreign_file_is_refused_by_name(bundle, tmp_path):
    truncated = tmp_path / "truncated.rcc"
    truncated.write_bytes(bundle.read_bytes()[:-40])
    with pytest.raises(DatasetError, match="truncated.rcc: damaged"):
        read_bundle(truncated)
    looping = tmp_path / "looping.rcc"
    looping.write_bytes(_bundle([("", 2, 1, 1), ("a", 2, 1, 0)], {}))   # folder a holds the root again
    with pytest.raises(DatasetError, match="loops"):
        read_bundle(looping)
    escaping = tmp_path / "escaping.rcc"
    escaping.write_bytes(_bundle([("", 2, 1, 1), ("..", 2, 1, 2), ("x", 0, 0, 0)], {0: b"x"}))
    with pytest.raises(DatasetError, match="leaves the bundle"):
        read_bundle(escaping)
    with pytest.raises(DatasetError, match="not a compiled Qt resource file"):
        read_bundle(_text(tmp_path))


def _text(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    return path


def test_the_command_fails_with_its_name_and_exit_2(tmp_path, capsys):
    assert main([str(_text(tmp_path)), str(tmp_path / "out")]) == 2
    assert "qt_resources: error: " in capsys.readouterr().err
    assert main([str(tmp_path / "missing.rcc"), str(tmp_path / "out")]) == 2
    assert "Qt resource file not found" in capsys.readouterr().err


def test_the_listed_gcompris_photos_are_real_photos_once_installed():
    """Where the fetch script installed GCompris (not in CI, which fetches opencv-doc only)."""
    try:
        paths = photo_paths(("gcompris-qt-data",))
    except SourceMissing as missing:
        pytest.skip(f"gcompris-qt-data not installed: {missing}")
    images = [cv2.imread(str(path), cv2.IMREAD_COLOR) for path in paths]
    assert len(images) == len(PHOTOS["gcompris-qt-data"]) and all(image is not None for image in images)
    assert min(min(image.shape[:2]) for image in images) >= 100


def test_a_compressed_file_never_inflates_past_its_stated_size(tmp_path):
    one_file = [("", 2, 1, 1), ("f", 1, 0, 0)]   # root holding one zlib-compressed file
    path = tmp_path / "bomb.rcc"
    path.write_bytes(_bundle(one_file, {0: _zlib(bytes(10_000_000), stated=100)}))   # states 100 bytes, holds 10 MB
    with pytest.raises(DatasetError, match="inflates to other than its stated 100 bytes"):
        read_bundle(path)
    path.write_bytes(_bundle(one_file, {0: _zlib(bytes(10_000_000), stated=2**31)}))  # states 2 GB
    with pytest.raises(DatasetError, match="over the 67108864-byte limit"):
        read_bundle(path)
    path.write_bytes(_bundle(one_file, {0: _zlib(NOTE)}))
    assert read_bundle(path) == {"f": NOTE}
