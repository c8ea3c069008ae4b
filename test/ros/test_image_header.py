"""The PNG/JPEG size read from header bytes equals what OpenCV decodes, and lies are caught before decoding."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from mixformerv2_ros.image_header import ImageHeaderError, image_size


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def claimed_png(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of ``width`` x ``height`` (all black): tiny on disk, huge once decoded."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data)
            + _png_chunk(b"IEND", b""))


@pytest.mark.parametrize("ext", [".png", ".jpg"])
@pytest.mark.parametrize("shape", [(1, 1, 3), (37, 53, 3), (480, 640, 3), (720, 1280, 1)])
def test_size_matches_opencv(ext, shape):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    ok, encoded = cv2.imencode(ext, image)
    assert ok
    assert image_size(encoded.tobytes()) == (shape[1], shape[0])


def test_progressive_jpeg_with_exif_like_segments():
    image = np.zeros((90, 120, 3), np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    data = encoded.tobytes()
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 5000) + bytes(5000)  # a large APP1 segment before the frame
    assert image_size(data[:2] + app1 + data[2:]) == (120, 90)


def test_a_small_png_that_claims_a_huge_image():
    data = claimed_png(16000, 16000)
    assert len(data) < 300_000  # what the issue measured: 249 KB that decode to 768 MB
    assert image_size(data) == (16000, 16000)
    assert image_size(memoryview(data)) == (16000, 16000)


@pytest.mark.parametrize("data", [
    b"", b"\x89PNG", b"GIF89a" + bytes(20), b"BM" + bytes(60),
    b"\x89PNG\r\n\x1a\n" + bytes(16),  # no IHDR
    b"\xff\xd8\xff\xda" + bytes(30),  # scan before any frame header
    b"\xff\xd8\x00\x00",  # no marker where one must be
    b"\xff\xd8\xff\xe0\x00\x01",  # segment length below 2
    b"\xff\xd8\xff\xc0\x00\x11\x08",  # truncated frame header
])
def test_unreadable_headers_are_refused(data):
    with pytest.raises(ImageHeaderError):
        image_size(data)
