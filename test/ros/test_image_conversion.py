"""sensor_msgs images -> tracker frames for every supported encoding, padding, byte order, and bad input."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_ros.image_conversion import (
    ImageConversionError, compressed_to_frame, frame_to_compressed, frame_to_image, image_to_frame)


@pytest.fixture(scope="module")
def rgb():
    return generate_sequence(seed=5, num_frames=1, frame_size=(48, 64)).frames[0]


def make_image(pixels: np.ndarray, encoding: str, padding: int = 0, bigendian: bool = False) -> Image:
    """An Image message with ``padding`` extra bytes at the end of each row."""
    height, width = pixels.shape[:2]
    dtype = pixels.dtype.newbyteorder(">" if bigendian else "<")
    rows = pixels.astype(dtype).reshape(height, -1).view(np.uint8)
    if padding:
        rows = np.hstack([rows, np.full((height, padding), 0xAB, np.uint8)])
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=int(bigendian), step=rows.shape[1])
    msg.data = rows.tobytes()
    return msg


@pytest.mark.parametrize("padding", [0, 7])
def test_rgb8_and_bgr8_are_zero_copy_views_in_their_own_order(rgb, padding):
    for encoding, pixels in (("rgb8", rgb), ("bgr8", rgb[:, :, ::-1])):
        msg = make_image(np.ascontiguousarray(pixels), encoding, padding)
        frame = image_to_frame(msg, color_order=encoding[:3])
        assert np.shares_memory(frame, np.frombuffer(msg.data, np.uint8))
        np.testing.assert_array_equal(frame, pixels)
        np.testing.assert_array_equal(image_to_frame(msg, "rgb"), rgb)  # other order: one copy


@pytest.mark.parametrize("encoding", ["rgba8", "bgra8"])
def test_alpha_is_dropped(rgb, encoding):
    color = rgb if encoding == "rgba8" else rgb[:, :, ::-1]
    pixels = np.dstack([color, np.full(rgb.shape[:2], 77, np.uint8)])
    frame = image_to_frame(make_image(pixels, encoding, padding=4), "rgb")
    np.testing.assert_array_equal(frame, rgb)


def test_mono8_and_mono16_in_both_byte_orders(rgb):
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    np.testing.assert_array_equal(image_to_frame(make_image(gray, "mono8", 3)), np.dstack([gray] * 3))
    wide = gray.astype(np.uint16) * 256 + 255
    for bigendian in (False, True):
        frame = image_to_frame(make_image(wide, "mono16", padding=2, bigendian=bigendian))
        np.testing.assert_array_equal(frame, np.dstack([gray] * 3))


@pytest.mark.parametrize("encoding, to_yuv", [("yuv422", "uyvy"), ("uyvy", "uyvy"), ("yuv422_yuy2", "yuyv"),
                                              ("yuyv", "yuyv")])
def test_yuv422_packings(rgb, encoding, to_yuv):
    flat = np.full_like(rgb, (200, 60, 30))  # flat colour: 4:2:2 subsampling is exact
    r, g, b = (flat[..., i] / 255.0 for i in range(3))  # BT.601 video range, as cameras send it
    y = np.round(16 + 65.481 * r + 128.553 * g + 24.966 * b).astype(np.uint8)
    u = np.round(128 - 37.797 * r - 74.203 * g + 112.0 * b).astype(np.uint8)
    v = np.round(128 + 112.0 * r - 93.786 * g - 18.214 * b).astype(np.uint8)
    packed = np.empty(rgb.shape[:2] + (2,), np.uint8)
    chroma = np.empty(rgb.shape[:2], np.uint8)
    chroma[:, 0::2], chroma[:, 1::2] = u[:, 0::2], v[:, 0::2]
    packed[..., 0], packed[..., 1] = (chroma, y) if to_yuv == "uyvy" else (y, chroma)
    frame = image_to_frame(make_image(packed, encoding, padding=2))
    assert np.abs(frame.astype(int) - flat.astype(int)).max() <= 3


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
@pytest.mark.parametrize("depth", [8, 16])
def test_bayer_patterns_demosaic_to_the_right_colours(pattern, depth):
    color = np.array([220, 120, 30], np.uint8)  # distinct R, G, B
    height, width = 16, 20
    channel = {"r": 0, "g": 1, "b": 2}
    mosaic = np.empty((height, width), np.uint8)
    for row in range(2):
        for col in range(2):
            mosaic[row::2, col::2] = color[channel[pattern[2 * row + col]]]
    pixels = mosaic.astype(np.uint16) * 256 if depth == 16 else mosaic
    frame = image_to_frame(make_image(pixels, f"bayer_{pattern}{depth}", padding=2, bigendian=depth == 16))
    inner = frame[2:-2, 2:-2].reshape(-1, 3).astype(int)
    assert np.abs(inner - color.astype(int)).max() <= 2


def test_bad_raw_input_raises_with_a_reason(rgb):
    msg = make_image(rgb, "rgb8")
    with pytest.raises(ImageConversionError) as error:
        image_to_frame(Image(height=2, width=2, encoding="32FC1", step=32, data=bytes(64)))
    assert error.value.reason == "unsupported_encoding" and "32FC1" in str(error.value)
    short = make_image(rgb, "rgb8")
    short.data = bytes(msg.data)[: msg.height * msg.step - 1]
    with pytest.raises(ImageConversionError) as error:
        image_to_frame(short)
    assert error.value.reason == "short_data"
    narrow = make_image(rgb, "rgb8")
    narrow.step = rgb.shape[1] * 3 - 1
    with pytest.raises(ImageConversionError) as error:
        image_to_frame(narrow)
    assert error.value.reason == "bad_step"
    with pytest.raises(ImageConversionError) as error:
        image_to_frame(Image(height=0, width=4, encoding="rgb8", step=12))
    assert error.value.reason == "empty_image"


def test_compressed_round_trip_and_corrupt_jpeg(rgb):
    msg = frame_to_compressed(rgb, quality=95)
    decoded = compressed_to_frame(msg, "rgb")
    error_same = np.abs(decoded.astype(int) - rgb.astype(int)).mean()
    error_swapped = np.abs(decoded.astype(int) - rgb[:, :, ::-1].astype(int)).mean()
    assert decoded.shape == rgb.shape and error_same < 12 and error_same < error_swapped / 2
    np.testing.assert_array_equal(compressed_to_frame(msg, "bgr"), decoded[:, :, ::-1])
    corrupt = CompressedImage(format="jpeg")
    corrupt.data = bytes(msg.data)[:40] + b"\x00" * 40
    with pytest.raises(ImageConversionError) as error:
        compressed_to_frame(corrupt)
    assert error.value.reason == "corrupt_compressed"


def test_frame_to_image_round_trip(rgb):
    msg = frame_to_image(rgb)
    assert (msg.encoding, msg.step) == ("rgb8", rgb.shape[1] * 3)
    np.testing.assert_array_equal(image_to_frame(msg), rgb)


def test_size_cap_is_checked_before_converting(rgb):
    msg = make_image(rgb, "rgb8")
    assert image_to_frame(msg, "rgb", max_side=64).shape == (48, 64, 3)
    with pytest.raises(ImageConversionError) as refused:
        image_to_frame(msg, "rgb", max_side=63)
    assert refused.value.reason == "image_too_large" and "64x48" in str(refused.value)
    liar = Image(height=100_000, width=4, encoding="mono8", step=4)  # claims 400 KB, carries nothing
    with pytest.raises(ImageConversionError) as refused:
        image_to_frame(liar, "rgb", max_side=8192)
    assert refused.value.reason == "image_too_large"


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_compressed_size_cap_reads_the_header(rgb, fmt):
    ok, encoded = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", rgb)
    msg = CompressedImage(format=fmt)
    msg.data = encoded.tobytes()
    assert compressed_to_frame(msg, "rgb", max_side=64).shape == (48, 64, 3)
    with pytest.raises(ImageConversionError) as refused:
        compressed_to_frame(msg, "rgb", max_side=50)
    assert refused.value.reason == "image_too_large"


def test_compressed_without_a_readable_size_is_refused_under_a_cap(rgb):
    ok, encoded = cv2.imencode(".bmp", rgb)
    msg = CompressedImage(format="bmp")
    msg.data = encoded.tobytes()
    assert compressed_to_frame(msg, "rgb").shape == (48, 64, 3)  # no cap: OpenCV decodes what it can
    with pytest.raises(ImageConversionError) as refused:
        compressed_to_frame(msg, "rgb", max_side=8192)
    assert refused.value.reason == "corrupt_compressed" and "neither a PNG nor a JPEG" in str(refused.value)
