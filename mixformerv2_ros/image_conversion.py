"""sensor_msgs Image/CompressedImage <-> HxWx3 uint8 frames for the tracker, without ROS's cv_bridge.

The raw path wraps the message buffer with numpy (no copy) whenever the encoding already is 3-channel 8-bit in
the requested colour order; row padding (``step``) becomes a stride, so padded rows are not copied either.
Everything else (alpha, grey, 16 bit, YUV 4:2:2, Bayer, the other colour order) needs one OpenCV/numpy copy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from mixformerv2_core.errors import InputError

from .image_header import ImageHeaderError, image_size


class ImageConversionError(InputError):
    """The message cannot become a frame; ``reason`` is a short stable key for counters and diagnostics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class _Layout:
    channels: int
    dtype: str  # numpy base type; byte order comes from is_bigendian


_LAYOUTS = {
    "rgb8": _Layout(3, "u1"), "bgr8": _Layout(3, "u1"),
    "rgba8": _Layout(4, "u1"), "bgra8": _Layout(4, "u1"),
    "mono8": _Layout(1, "u1"), "8UC1": _Layout(1, "u1"),
    "mono16": _Layout(1, "u2"), "16UC1": _Layout(1, "u2"),
    "yuv422": _Layout(2, "u1"), "uyvy": _Layout(2, "u1"),
    "yuv422_yuy2": _Layout(2, "u1"), "yuyv": _Layout(2, "u1"),
}
for _pattern in ("rggb", "bggr", "gbrg", "grbg"):
    _LAYOUTS[f"bayer_{_pattern}8"] = _Layout(1, "u1")
    _LAYOUTS[f"bayer_{_pattern}16"] = _Layout(1, "u2")

# OpenCV names a Bayer pattern after the second row's second and third pixels, so ROS's "rggb" is its "BG".
_BAYER_TO_RGB = {
    "rggb": cv2.COLOR_BayerBG2RGB, "bggr": cv2.COLOR_BayerRG2RGB,
    "gbrg": cv2.COLOR_BayerGR2RGB, "grbg": cv2.COLOR_BayerGB2RGB,
}
_YUV_TO_RGB = {
    "yuv422": cv2.COLOR_YUV2RGB_UYVY, "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUYV, "yuyv": cv2.COLOR_YUV2RGB_YUYV,
}

SUPPORTED_ENCODINGS = tuple(sorted(_LAYOUTS))
COLOR_ORDERS = ("rgb", "bgr")


def _wrap_buffer(msg, layout: _Layout) -> np.ndarray:
    """A (H, W, C) view on ``msg.data`` honouring ``step`` and byte order; validates sizes."""
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ImageConversionError("empty_image", f"image has no pixels ({width}x{height})")
    dtype = np.dtype(layout.dtype).newbyteorder(">" if msg.is_bigendian else "<")
    row_bytes = width * layout.channels * dtype.itemsize
    if step < row_bytes:
        raise ImageConversionError(
            "bad_step", f"step {step} is shorter than one row of {width} px {msg.encoding} ({row_bytes} bytes)")
    if step % dtype.itemsize:
        raise ImageConversionError("bad_step", f"step {step} is not a multiple of the {dtype.itemsize}-byte pixel type")
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    needed = height * step
    if buffer.size < needed:
        raise ImageConversionError(
            "short_data", f"data has {buffer.size} bytes, a {width}x{height} {msg.encoding} image with step "
                          f"{step} needs {height * step}")
    return np.lib.stride_tricks.as_strided(
        buffer[:needed].view(dtype),
        shape=(height, width, layout.channels),
        strides=(step, layout.channels * dtype.itemsize, dtype.itemsize),
        writeable=False,
    )


def _to_8bit(values: np.ndarray) -> np.ndarray:
    """Full-range 16-bit to 8-bit (keeps the top byte), native byte order."""
    return (values.astype(np.uint16) >> 8).astype(np.uint8)


def _to_rgb(msg, pixels: np.ndarray) -> tuple[np.ndarray, str]:
    """Returns (frame, order): a 3-channel uint8 frame that is either RGB or BGR, copying as little as possible."""
    encoding = msg.encoding
    if encoding in ("rgb8", "bgr8"):
        return pixels, encoding[:3]
    if encoding in ("rgba8", "bgra8"):
        return pixels[:, :, :3], encoding[:3]
    if encoding in ("mono8", "8UC1"):
        return cv2.cvtColor(np.ascontiguousarray(pixels[:, :, 0]), cv2.COLOR_GRAY2RGB), "rgb"
    if encoding in ("mono16", "16UC1"):
        return cv2.cvtColor(_to_8bit(pixels[:, :, 0]), cv2.COLOR_GRAY2RGB), "rgb"
    if encoding in _YUV_TO_RGB:
        if msg.width % 2:
            raise ImageConversionError("bad_size", f"{encoding} needs an even width, got {msg.width}")
        return cv2.cvtColor(np.ascontiguousarray(pixels), _YUV_TO_RGB[encoding]), "rgb"
    pattern, depth = encoding[len("bayer_"):len("bayer_") + 4], encoding[len("bayer_") + 4:]
    mosaic = pixels[:, :, 0]
    mosaic = _to_8bit(mosaic) if depth == "16" else np.ascontiguousarray(mosaic)
    return cv2.cvtColor(mosaic, _BAYER_TO_RGB[pattern]), "rgb"


def _reorder(frame: np.ndarray, order: str, color_order: str) -> np.ndarray:
    if order == color_order:
        return frame
    return np.ascontiguousarray(frame[:, :, ::-1])


def check_size(width: int, height: int, max_side: Optional[int], what: str) -> None:
    """Refuses images larger than ``max_side`` a side before any pixel is converted or decoded."""
    if max_side is not None and (width > max_side or height > max_side):
        raise ImageConversionError(
            "image_too_large", f"{what} of {width}x{height} px exceeds the size cap of {max_side} px a side")


def _compressed_size(msg, data: np.ndarray) -> tuple[int, int]:
    """(width, height) from the header bytes of a compressed image message."""
    try:
        return image_size(data)
    except ImageHeaderError as error:
        raise ImageConversionError(
            "corrupt_compressed", f"cannot read the size of the compressed image (format '{msg.format}', "
                                  f"{data.size} bytes): {error}") from None


def check_message_size(msg, max_side: int) -> None:
    """The size cap on what a message claims (raw: ``width``/``height``; compressed: its PNG/JPEG header),
    without converting or decoding anything; ImageConversionError when it is exceeded or unreadable.
    """
    if hasattr(msg, "format"):
        width, height = _compressed_size(msg, np.frombuffer(msg.data, dtype=np.uint8))
        check_size(width, height, max_side, f"compressed image (format '{msg.format}')")
    else:
        check_size(int(msg.width), int(msg.height), max_side, f"{msg.encoding} image")


def image_to_frame(msg, color_order: str = "rgb", max_side: Optional[int] = None) -> np.ndarray:
    """``sensor_msgs/Image`` -> (H, W, 3) uint8 in ``color_order``; raises ImageConversionError on bad input
    (including a width or height above ``max_side``, checked before anything else).

    The result may be a read-only view on the message buffer: keep the message alive while using it.
    """
    if max_side is not None:
        check_message_size(msg, max_side)
    layout = _LAYOUTS.get(msg.encoding)
    if layout is None:
        raise ImageConversionError("unsupported_encoding", f"unsupported image encoding '{msg.encoding}'")
    frame, order = _to_rgb(msg, _wrap_buffer(msg, layout))
    return _reorder(frame, order, color_order)


def compressed_to_frame(msg, color_order: str = "rgb", max_side: Optional[int] = None) -> np.ndarray:
    """``sensor_msgs/CompressedImage`` (JPEG, PNG) -> (H, W, 3) uint8 in ``color_order``.

    With ``max_side`` the size in the PNG/JPEG header is checked before decoding (a small file can claim a
    huge image), and formats whose header gives no size are refused.
    """
    if max_side is not None:
        check_message_size(msg, max_side)
    data = np.frombuffer(msg.data, dtype=np.uint8)
    try:
        frame = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error:
        frame = None
    if frame is None:
        raise ImageConversionError(
            "corrupt_compressed", f"cannot decode compressed image (format '{msg.format}', {data.size} bytes)")
    return _reorder(frame, "bgr", color_order)


def frame_to_image(frame: np.ndarray, header=None, color_order: str = "rgb"):
    """(H, W, 3) uint8 -> ``sensor_msgs/Image`` (rgb8/bgr8); used for the debug image and by tests/tools."""
    from sensor_msgs.msg import Image

    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(frame.shape[0]), int(frame.shape[1])
    msg.encoding = f"{color_order}8"
    msg.is_bigendian = 0
    msg.step = int(frame.shape[1] * 3)
    msg.data = frame.tobytes()
    return msg


def frame_to_compressed(frame: np.ndarray, header=None, color_order: str = "rgb", quality: int = 90):
    """(H, W, 3) uint8 -> JPEG ``sensor_msgs/CompressedImage``; used by tests, benchmarks and tools."""
    from sensor_msgs.msg import CompressedImage

    bgr = frame if color_order == "bgr" else np.ascontiguousarray(frame[:, :, ::-1])
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = "jpeg"
    msg.data = encoded.tobytes()
    return msg
