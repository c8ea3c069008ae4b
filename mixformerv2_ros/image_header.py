"""Width and height of a PNG or JPEG from its header bytes, read before anything is decoded.

A compressed image can claim any size (a 249 KB PNG of 16000x16000 decodes to 768 MB), and OpenCV offers no
way to ask for the size without decoding, so the node reads it here and refuses oversized images first.
PNG: the IHDR chunk that must follow the signature. JPEG: the first start-of-frame (SOFn) marker segment.
"""
from __future__ import annotations

import struct

from mixformerv2_core.errors import InputError
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8"
# SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range but do not.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0..7, SOI (EOI ends the search).
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})


class ImageHeaderError(InputError):
    """The bytes are not a PNG/JPEG whose size can be read."""


def image_size(data) -> tuple[int, int]:
    """``(width, height)`` of a PNG or JPEG in ``data`` (bytes, array.array of a message, numpy uint8);
    ``ImageHeaderError`` for anything else. Reads only header bytes; copies nothing.
    """
    view = memoryview(data).cast("B") if not isinstance(data, memoryview) else data.cast("B")
    if bytes(view[:8]) == PNG_SIGNATURE:
        return _png_size(view)
    if bytes(view[:2]) == JPEG_START:
        return _jpeg_size(view)
    raise ImageHeaderError("neither a PNG nor a JPEG (unknown signature)")


def _png_size(data: memoryview) -> tuple[int, int]:
    if len(data) < 24 or bytes(data[12:16]) != b"IHDR":
        raise ImageHeaderError("PNG without an IHDR chunk after the signature")
    width, height = struct.unpack(">II", bytes(data[16:24]))
    return width, height


def _jpeg_size(data: memoryview) -> tuple[int, int]:
    position = 2
    end = len(data)
    while position < end:
        if data[position] != 0xFF:
            raise ImageHeaderError(f"JPEG marker expected at byte {position}")
        while position < end and data[position] == 0xFF:  # fill bytes before a marker
            position += 1
        if position >= end:
            break
        marker = data[position]
        position += 1
        if marker in _STANDALONE:
            continue
        if marker == 0xD9 or marker == 0xDA:  # end of image / start of scan before any frame header
            break
        if position + 2 > end:
            break
        length = struct.unpack(">H", bytes(data[position:position + 2]))[0]
        if length < 2:
            raise ImageHeaderError(f"JPEG segment of length {length} at byte {position}")
        if marker in _SOF_MARKERS:
            if position + 7 > end:
                break
            height, width = struct.unpack(">HH", bytes(data[position + 3:position + 7]))
            return width, height
        position += length
    raise ImageHeaderError("JPEG without a frame header (SOF marker) before the image data")
