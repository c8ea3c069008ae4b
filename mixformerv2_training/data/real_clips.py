"""The labelled real-video validation set (``data/real_clips/*.txt``): real clips from registry packages with
boxes drawn by hand on keyframes and interpolated linearly between them (docs/demo_model.md).

A clip file is a few ``# key: value`` header lines (package, file, sha256, frames, target) and CSV keyframes
``frame,x,y,w,h`` (pixels, top-left corner). The frames come from the installed package at run time, checked
against the recorded sha256, so a different file cannot silently change the yardstick.
"""
from __future__ import annotations

import hashlib
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import cv2
import numpy as np

from mixformerv2_core.frame_sources import frame_files

from .readers import DatasetError, video_frames
from .registry import SourceMissing, source_file

CLIPS_DIR = Path(__file__).resolve().parents[2] / "data" / "real_clips"
HEADER_KEYS = ("package", "file", "sha256", "frames", "target")


@dataclass(frozen=True)
class RealClip:
    name: str
    package: str
    file: str
    sha256: str
    first: int
    last: int
    target: str
    keyframes: np.ndarray  # (K, 5): frame, x, y, w, h

    @property
    def boxes(self) -> np.ndarray:
        """``(last - first + 1, 4)`` boxes, one per frame of the clip, interpolated between keyframes."""
        frames = np.arange(self.first, self.last + 1)
        return np.stack([np.interp(frames, self.keyframes[:, 0], self.keyframes[:, k]) for k in range(1, 5)], axis=1)

    def __len__(self) -> int:
        return self.last - self.first + 1

    def video_path(self) -> Path:
        """The installed video (a file or a folder of frames), checked against the recorded sha256
        (:class:`SourceMissing` if absent).
        """
        path = source_file(self.package, self.file)
        digest = content_sha256(path)
        if digest != self.sha256:
            raise DatasetError(f"{path} has sha256 {digest}, the clip {self.name} was labelled on {self.sha256}")
        return path

    def frames(self, limit: Optional[int] = None) -> Iterator[np.ndarray]:
        """The clip's frames as ``HxWx3 uint8`` RGB, at most ``limit`` of them."""
        count = len(self) if limit is None else min(limit, len(self))
        with closing(video_frames(self.video_path())) as frames:  # releases the decoder however this ends
            for index in range(self.first + count):
                frame = next(frames, None)
                if frame is None:
                    raise DatasetError(f"{self.file} ends at frame {index}, the clip {self.name} needs {self.last}")
                if index >= self.first:
                    yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def installed_clips(clips: list[RealClip]) -> tuple[list[RealClip], list[str]]:
    """The clips whose package is installed (video checked), and why each of the others is not."""
    installed, missing = [], []
    for clip in clips:
        try:
            clip.video_path()
        except SourceMissing as error:
            missing.append(f"{clip.name}: {error}")
            continue
        installed.append(clip)
    return installed, missing


def content_sha256(path: Path) -> str:
    """sha256 of a file, or of a folder's frames (their bytes in the order the clip reads them)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else frame_files(path)
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def load_clip(path: Path) -> RealClip:
    """Parse and check one clip file (:class:`DatasetError` naming the line for anything malformed)."""
    header: dict[str, str] = {}
    rows = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        text = line.strip()
        if text.startswith("#"):
            key, sep, value = text[1:].partition(":")
            if sep and key.strip() in HEADER_KEYS:
                header[key.strip()] = value.strip()
        elif text and not text.startswith("frame,"):
            try:
                values = [float(v) for v in text.split(",")]
            except ValueError:
                values = []
            if len(values) != 5:
                raise DatasetError(f"{path}:{number}: expected frame,x,y,w,h, got {text!r}")
            rows.append(values)
    missing = [key for key in HEADER_KEYS if key not in header]
    if missing:
        raise DatasetError(f"{path}: header lines missing: {', '.join(missing)}")
    try:
        first, last = (int(v) for v in header["frames"].split("-"))
    except ValueError:
        raise DatasetError(f"{path}: 'frames' must read FIRST-LAST, got {header['frames']!r}") from None
    keyframes = np.array(rows, dtype=np.float64).reshape(-1, 5)
    if len(keyframes) < 2 or keyframes[0, 0] != first or keyframes[-1, 0] != last:
        raise DatasetError(f"{path}: keyframes must start at frame {first} and end at frame {last}")
    if (np.diff(keyframes[:, 0]) <= 0).any() or (keyframes[:, 3:5] <= 0).any():
        raise DatasetError(f"{path}: keyframes must increase and have positive widths and heights")
    return RealClip(Path(path).stem, header["package"], header["file"], header["sha256"], first, last,
                    header["target"], keyframes)


def labelled_clips(directory: Path = CLIPS_DIR) -> list[RealClip]:
    """Every clip of the validation set, by name."""
    paths = sorted(Path(directory).glob("*.txt"))
    if not paths:
        raise DatasetError(f"no labelled clips (*.txt) in {directory}")
    return [load_clip(path) for path in paths]
