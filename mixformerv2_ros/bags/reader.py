"""Reading an evaluation bag, or a user's recording: frames in time order with the ground truth matched by
header stamp. A bag that ends early or is damaged is read up to the last intact message (see
:mod:`.recovery`): :class:`BagSequence` then has ``complete=False`` and ``error`` says what happened, so the
caller evaluates the readable part and says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..stamps import stamp_to_ns
from .messages import decode_image, detection_box, detection_state
from .recovery import open_source
from .types import COMPRESSED_TYPE, DETECTION_ARRAY_TYPE, DETECTION_TYPE, IMAGE_TYPE, BagError, typestore


@dataclass
class BagFrame:
    stamp_ns: int
    image: np.ndarray | None
    frame_id: str


@dataclass
class BagSequence:
    """Frames of a bag in time order, the ground truth matched to them by header stamp, and read status."""

    frames: list[BagFrame]
    boxes: np.ndarray | None  # (N, 4) aligned with frames; NaN rows where absent or missing
    image_topic: str
    gt_topic: str | None
    complete: bool = True
    error: str | None = None
    expected_frames: int | None = None
    custom_data: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    gt_states: list[str] | None = None  # per frame: "visible" or a GT_STATES reason (None without ground truth)

    @property
    def stamps_ns(self) -> np.ndarray:
        return np.array([f.stamp_ns for f in self.frames], dtype=np.int64)

    @property
    def visible(self) -> np.ndarray | None:
        """False where the ground truth flags the target absent (the visibility the LaSOT rules use)."""
        return None if self.gt_states is None else np.array([s != "absent" for s in self.gt_states], dtype=bool)


def _pick_topic(topics: dict[str, str], wanted: str | None, types: tuple[str, ...], what: str) -> str | None:
    if wanted is not None:
        if wanted not in topics:
            raise BagError(f"topic {wanted} is not in the bag; it has: {', '.join(sorted(topics)) or 'none'}")
        if topics[wanted] not in types:
            raise BagError(f"topic {wanted} has type {topics[wanted]}, expected one of {', '.join(types)}")
        return wanted
    matches = sorted(t for t, ty in topics.items() if ty in types)
    if len(matches) > 1:
        raise BagError(f"several {what} topics in the bag ({', '.join(matches)}); choose one")
    return matches[0] if matches else None


def read_sequence_bag(
    path: str | Path,
    image_topic: str | None = None,
    gt_topic: str | None = None,
    color_order: str = "rgb",
    decode_images: bool = True,
) -> BagSequence:
    """Read every frame and the matching ground-truth boxes of a bag written by us or recorded by a user.

    Topics are found by type when not named. Ground truth is matched to frames by header stamp; a
    Detection2DArray uses its first detection. Frames without ground truth get NaN rows. A damaged or
    cut-off bag yields its readable frames with ``complete=False`` and the reason in ``error``.
    ``decode_images=False`` keeps only stamps and frame ids (``image`` is None): long recordings do not fit
    in memory decoded; stream them with :func:`iter_images` instead.
    """
    path = Path(path)
    notes: list[str] = []
    source = open_source(path, notes)
    try:
        img_topic = _pick_topic(source.topics, image_topic, (IMAGE_TYPE, COMPRESSED_TYPE), "image")
        if img_topic is None:
            raise BagError(f"no sensor_msgs/Image or CompressedImage topic in {path}")
        det_topic = _pick_topic(source.topics, gt_topic, (DETECTION_TYPE, DETECTION_ARRAY_TYPE), "ground-truth")
        expected = source.expected(img_topic)
        status: dict = {}
        frames: list[BagFrame] = []
        gt_by_stamp: dict[int, np.ndarray] = {}
        state_by_stamp: dict[int, str] = {}
        for topic, msgtype, raw in source.messages([img_topic] + ([det_topic] if det_topic else []), status):
            try:
                msg = typestore().deserialize_cdr(raw, msgtype)
                if topic == img_topic:
                    image = decode_image(msg, color_order) if decode_images else None
            except Exception as exc:
                status["error"] = f"undecodable {msgtype} message after frame {len(frames)}: {exc}"
                break
            stamp = stamp_to_ns(msg.header.stamp)
            if topic == img_topic:
                frames.append(BagFrame(stamp, image, msg.header.frame_id))
            else:
                det = msg if msgtype == DETECTION_TYPE else (msg.detections[0] if msg.detections else None)
                gt_by_stamp[stamp] = detection_box(det) if det is not None else np.full(4, np.nan)
                state_by_stamp[stamp] = detection_state(det)
        if "error" in status and det_topic and gt_by_stamp:
            # A cut-off tail can hold an image whose ground truth was never written: drop such frames.
            last_gt = max(gt_by_stamp)
            frames = [f for f in frames if f.stamp_ns <= last_gt]
        boxes = states = None
        if det_topic:
            boxes = np.array([gt_by_stamp.get(f.stamp_ns, np.full(4, np.nan)) for f in frames]).reshape(-1, 4)
            states = [state_by_stamp.get(f.stamp_ns, "unknown") for f in frames]
        if "error" not in status and expected and len(frames) < expected:
            status["error"] = f"metadata lists {expected} frames but only {len(frames)} could be read"
        problems = notes + ([status["error"]] if "error" in status else [])
        return BagSequence(
            frames, boxes, img_topic, det_topic, complete=not problems, error="; ".join(problems) or None,
            expected_frames=expected, custom_data=source.custom_data, path=path, gt_states=states,
        )
    finally:
        source.close()


def iter_images(path: str | Path, image_topic: str, color_order: str = "rgb") -> Iterator[np.ndarray]:
    """Decoded frames of ``image_topic`` in bag order, one at a time; stops where the bag is damaged."""
    path = Path(path)
    source = open_source(path, [])
    try:
        for index, (_, msgtype, raw) in enumerate(source.messages([image_topic], {})):
            try:
                image = decode_image(typestore().deserialize_cdr(raw, msgtype), color_order)
            except Exception as exc:
                raise BagError(f"frame {index} of {path} cannot be decoded: {exc}") from exc
            yield image
    finally:
        source.close()
