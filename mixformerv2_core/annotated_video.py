"""Annotated tracking videos a person can read: ground truth, tracked boxes coloured by the lost rule, ids and
scores, frame number and rate, a legend; written as H.264 (yuv420p) so browsers play it, plus a contact sheet.

Used by ``mixformerv2-track --output`` and the ROS demo (which draws the node's detections on the camera frames).
PyAV (FFmpeg with libx264) does the encoding; it is imported only when a video is written.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import cv2
import numpy as np

from .errors import MissingDependencyError
from .tracker import DEFAULT_LOST_THRESHOLD, is_lost

# BGR colours: green = tracking, red = lost (same meaning as the node's debug image), white = ground truth.
TRACKED_BGR = (40, 220, 40)
LOST_BGR = (40, 60, 230)
TRUTH_BGR = (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class DrawnTarget:
    """One tracked box to draw: ``box`` is x, y, w, h in pixels."""

    target_id: str
    box: Sequence[float]
    score: float


def _text(image: np.ndarray, text: str, origin: tuple[int, int], color=(255, 255, 255), scale: float = 0.45) -> None:
    """Text with a dark edge so it reads on any background (the edge is the same glyphs shifted by a pixel:
    a thicker stroke would change the glyph widths)."""
    x, y = origin
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1), (1, 1)):
        cv2.putText(image, text, (x + dx, y + dy), _FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, text, origin, _FONT, scale, color, 1, cv2.LINE_AA)


def _text_width(text: str, scale: float) -> int:
    return cv2.getTextSize(text, _FONT, scale, 1)[0][0] + 2


def _rectangle(image: np.ndarray, box: Sequence[float], color, thickness: int) -> tuple[int, int]:
    x, y, w, h = (float(v) for v in box)
    top_left = (int(round(x)), int(round(y)))
    cv2.rectangle(image, top_left, (int(round(x + w)), int(round(y + h))), color, thickness, cv2.LINE_AA)
    return top_left


def draw_annotations(frame_bgr: np.ndarray, targets: Sequence[DrawnTarget], frame_index: int, rate_text: str = "",
                     ground_truth: Optional[Sequence[float]] = None,
                     lost_threshold: float = DEFAULT_LOST_THRESHOLD) -> np.ndarray:
    """A new BGR image: ``frame_bgr`` with the ground truth (thin), each target, a header and a legend."""
    image = np.array(frame_bgr, dtype=np.uint8, copy=True, order="C")
    height = image.shape[0]
    if ground_truth is not None and np.all(np.isfinite(ground_truth)):
        _rectangle(image, ground_truth, TRUTH_BGR, 1)
    for target in targets:
        lost = is_lost(target.score, lost_threshold)
        color = LOST_BGR if lost else TRACKED_BGR
        x, y = _rectangle(image, target.box, color, 2)
        label = f"{target.target_id} {target.score:.2f}" + (" LOST" if lost else "")
        origin = (max(0, x), max(16, y - 5))
        _panel(image, origin[0] - 2, origin[1] - 14, origin[0] + 4 + _text_width(label, 0.5),
               origin[1] + 4)
        _text(image, label, origin, color, scale=0.5)
    header = f"frame {frame_index}" + (f"   {rate_text}" if rate_text else "")
    _panel(image, 0, 0, 14 + _text_width(header, 0.55), 26)
    _text(image, header, (6, 18), scale=0.55)
    legend = [("tracking", TRACKED_BGR, 2), (f"lost (score < {lost_threshold:g})", LOST_BGR, 2)]
    if ground_truth is not None:
        legend.append(("ground truth", TRUTH_BGR, 1))
    top = height - 8 - 20 * len(legend)
    _panel(image, 0, top, 190, height)
    y = top + 20
    for name, color, thickness in legend:
        cv2.rectangle(image, (8, y - 11), (26, y + 1), color, thickness)
        _text(image, name, (34, y), color, scale=0.5)
        y += 20
    return image


def _panel(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """Darken a rectangle so the text on it reads on a busy frame."""
    y0, x0 = max(0, y0), max(0, x0)
    region = image[y0:y1, x0:x1]
    region[:] = (region * 0.35).astype(np.uint8)


class _Thumbnails:
    """At most ``2 * count`` evenly spaced small frames of a stream of unknown length (stride doubles)."""

    def __init__(self, count: int, width: int = 480) -> None:
        self.count, self.width, self.stride = count, width, 1
        self.kept: list[tuple[int, np.ndarray]] = []

    def offer(self, index: int, image: np.ndarray) -> None:
        if index % self.stride:
            return
        scale = self.width / image.shape[1]
        small = cv2.resize(image, (self.width, max(1, round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
        self.kept.append((index, small))
        if len(self.kept) > 2 * self.count:
            self.stride *= 2
            self.kept = [(i, img) for i, img in self.kept if i % self.stride == 0]

    def pick(self) -> list[np.ndarray]:
        if not self.kept:
            return []
        positions = np.linspace(0, len(self.kept) - 1, min(self.count, len(self.kept))).round().astype(int)
        return [self.kept[p][1] for p in dict.fromkeys(positions.tolist())]


def write_contact_sheet(images: Sequence[np.ndarray], path: Union[str, os.PathLike], columns: int = 2) -> Path:
    """A grid of equally sized BGR images as one PNG."""
    if not images:
        raise ValueError("no frames for a contact sheet")
    height, width = images[0].shape[:2]
    rows = -(-len(images) // columns)
    sheet = np.full((rows * height, min(columns, len(images)) * width, 3), 32, np.uint8)
    for n, image in enumerate(images):
        r, c = divmod(n, columns)
        sheet[r * height:(r + 1) * height, c * width:(c + 1) * width] = image[:height, :width]
    path = Path(path)
    if not cv2.imwrite(str(path), sheet):
        raise OSError(f"cannot write the contact sheet {path}")
    return path


class H264Writer:
    """H.264 / yuv420p MP4 through PyAV; frames are BGR uint8 of one size (odd sizes are padded to even)."""

    def __init__(self, path: Union[str, os.PathLike], fps: float) -> None:
        try:
            import av
        except ImportError:
            raise MissingDependencyError("writing H.264 video needs PyAV: pip install -r requirements/video.txt"
                                         ) from None
        self.path = Path(path)
        self._av = av
        self._container = av.open(str(self.path), mode="w")
        self._fps = max(1, int(round(fps)))
        self._stream = None
        self.frames = 0

    def write(self, image_bgr: np.ndarray) -> None:
        height, width = image_bgr.shape[:2]
        if self._stream is None:
            self._stream = self._container.add_stream("libx264", rate=self._fps)
            self._stream.width, self._stream.height = width + width % 2, height + height % 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": "23", "preset": "veryfast"}
        padded = image_bgr
        if (width + width % 2, height + height % 2) != (width, height):
            padded = cv2.copyMakeBorder(image_bgr, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(padded), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._stream is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
        self._container.close()


class AnnotatedVideo:
    """Draws and writes frames one by one (nothing accumulates but a few thumbnails) and, on ``close``, the
    contact sheet of ``sheet_frames`` evenly spaced frames next to the video (``<video>.png`` unless given)."""

    def __init__(self, path: Union[str, os.PathLike], fps: float, lost_threshold: float = DEFAULT_LOST_THRESHOLD,
                 sheet_path: Union[str, os.PathLike, None] = None, sheet_frames: int = 6) -> None:
        self.path = Path(path)
        self.sheet_path = Path(sheet_path) if sheet_path is not None else self.path.with_suffix(".png")
        self.lost_threshold = lost_threshold
        self._writer = H264Writer(self.path, fps)
        self._thumbnails = _Thumbnails(sheet_frames)

    def add(self, frame_bgr: np.ndarray, targets: Sequence[DrawnTarget], frame_index: int, rate_text: str = "",
            ground_truth: Optional[Sequence[float]] = None) -> None:
        image = draw_annotations(frame_bgr, targets, frame_index, rate_text, ground_truth, self.lost_threshold)
        self._writer.write(image)
        self._thumbnails.offer(frame_index, image)

    @property
    def frames(self) -> int:
        return self._writer.frames

    def close(self) -> Optional[Path]:
        """Finish the video; returns the contact sheet's path (None when no frame was written)."""
        self._writer.close()
        picked = self._thumbnails.pick()
        return write_contact_sheet(picked, self.sheet_path) if picked else None


def probe_video(path: Union[str, os.PathLike]) -> tuple[str, int]:
    """(codec name, decoded frame count) of a video file, decoding every frame (used by the tests)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, sum(1 for _ in container.decode(stream))
