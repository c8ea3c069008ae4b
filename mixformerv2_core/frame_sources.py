"""Frame sources for the command line: video files, image folders, cameras and generated sequences."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass
class FrameSource:
    """Frames plus what the tracker must know about them (color order; ground truth when generated)."""

    frames: Iterator[np.ndarray]
    color_order: str
    length: Optional[int]
    fps: float
    name: str
    ground_truth: Optional[np.ndarray] = field(default=None)


def _read_capture(capture: "cv2.VideoCapture") -> Iterator[np.ndarray]:
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


def _video(path: Path) -> FrameSource:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"cannot open video {path}")
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    return FrameSource(_read_capture(capture), "bgr", count, capture.get(cv2.CAP_PROP_FPS) or 30.0, path.stem)


def _image_dir(path: Path) -> FrameSource:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")

    def frames() -> Iterator[np.ndarray]:
        for file in files:
            frame = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if frame is None:
                raise ValueError(f"cannot decode image {file}")
            yield frame

    return FrameSource(frames(), "bgr", len(files), 30.0, path.name)


def _camera(index: int) -> FrameSource:
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise ValueError(f"cannot open camera {index}")
    return FrameSource(_read_capture(capture), "bgr", None, capture.get(cv2.CAP_PROP_FPS) or 30.0, f"camera{index}")


def _synthetic(spec: str) -> FrameSource:
    from .synthetic import SyntheticScene

    _, _, seed = spec.partition(":")
    scene = SyntheticScene(seed=int(seed or 0), num_frames=150)
    return FrameSource(iter(scene), "rgb", len(scene), 30.0, f"synthetic-{int(seed or 0):04d}", scene.boxes.copy())


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
    raise ValueError(f"input {spec!r} is neither 'synthetic[:seed]', a camera index, an image folder nor a video file")
