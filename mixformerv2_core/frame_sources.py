"""Frame sources for the command line: video files, image folders, cameras and generated sequences."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


@dataclass
class FrameSource:
    """Frames plus what the tracker must know about them (color order; ground truth when generated)."""

    frames: Iterator[np.ndarray]
    color_order: str
    length: Optional[int]
    fps: float
    name: str
    ground_truth: Optional[np.ndarray] = field(default=None)
    # One-line notes the source adds while it is read (e.g. a damaged video's decoder errors), for the caller
    # to print once at the end instead of the decoder's own per-packet messages.
    notes: list[str] = field(default_factory=list)


def read_capture(capture: "cv2.VideoCapture") -> Iterator[np.ndarray]:
    """BGR frames until the capture ends; it is released then, or when the reader stops early."""
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


def _video(path: Path) -> FrameSource:
    """Decoded with PyAV so FFmpeg's messages are collected (one summary line) instead of flooding stderr."""
    import av
    import av.logging

    try:
        container = av.open(str(path))
        stream = container.streams.video[0]
    except (av.FFmpegError, IndexError) as error:
        raise ValueError(f"cannot open video {path}: {error}") from None
    count = stream.frames or None
    fps = float(stream.average_rate) if stream.average_rate else 30.0
    source = FrameSource(iter(()), "bgr", count, fps, path.stem)

    def frames() -> Iterator[np.ndarray]:
        decoded = skipped = 0
        av.logging.set_level(av.logging.ERROR)
        try:
            with av.logging.Capture(local=False) as messages:
                for packet in container.demux(stream):
                    try:
                        pictures = packet.decode()
                    except av.FFmpegError:  # an unreadable packet: skip it, as players do, and count it
                        skipped += 1
                        continue
                    for picture in pictures:
                        yield picture.to_ndarray(format="bgr24")
                        decoded += 1
        finally:
            container.close()
            if messages or skipped:
                first = f" (first: {messages[0][2].strip()!r})" if messages else ""
                source.notes.append(f"{path.name}: damaged video: the decoder reported {len(messages)} errors"
                                    f"{first} and skipped {skipped} packets; {decoded} frames decoded")

    source.frames = frames()
    return source


def _natural_key(path: Path) -> list:
    """Sort key that orders 2.jpg before 10.jpg (digit runs compare as numbers)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def frame_files(path: Path) -> list[Path]:
    """The images of a folder in the order they are played (numbered names by number); ValueError if none."""
    files = sorted((p for p in Path(path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
    if not files:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")
    return files


def _image_dir(path: Path) -> FrameSource:
    files = frame_files(path)

    def frames() -> Iterator[np.ndarray]:
        for index, file in enumerate(files):
            frame = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if frame is None:
                raise ValueError(f"frame {index} ({file}) cannot be decoded as an image")
            yield frame

    return FrameSource(frames(), "bgr", len(files), 30.0, path.name)


def _camera(index: int) -> FrameSource:
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise ValueError(f"cannot open camera {index}")
    return FrameSource(read_capture(capture), "bgr", None, capture.get(cv2.CAP_PROP_FPS) or 30.0, f"camera{index}")


def _synthetic(spec: str) -> FrameSource:
    from .synthetic import SyntheticScene

    text = spec.partition(":")[2] or "0"
    if not text.isdigit():
        raise ValueError(f"synthetic:SEED needs a whole-number seed (e.g. synthetic:1), got {spec!r}")
    scene = SyntheticScene(seed=int(text), num_frames=150)
    return FrameSource(iter(scene), "rgb", len(scene), 30.0, f"synthetic-{int(text):04d}", scene.boxes.copy())


def open_source(spec: str) -> FrameSource:
    """``synthetic[:SEED]``, a camera index, an image folder or a video file."""
    if spec == "synthetic" or spec.startswith("synthetic:"):
        return _synthetic(spec)
    if spec.isdigit():
        return _camera(int(spec))
    path = Path(spec)
    if path.is_dir():
        return _image_dir(path)
    if path.is_file():
        return _video(path)
    if not path.exists():
        raise ValueError(f"input {spec} not found (give a video file, an image folder, a camera index or "
                         f"synthetic[:SEED])")
    raise ValueError(f"input {spec} is neither a video file nor an image folder")
