"""The messages of an evaluation bag: frames (Image / CompressedImage) and ground-truth boxes (Detection2D,
with the reason when a frame has none), built for writing and read back.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..image_conversion import compressed_to_frame, image_to_frame
from ..stamps import NS_PER_S
from .types import COMPRESSED_TYPE, DETECTION_TYPE, IMAGE_TYPE, typestore


def _stamp(ns: int):
    sec, nanosec = divmod(int(ns), NS_PER_S)
    return typestore().types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)


def header_message(ns: int, frame_id: str):
    """``std_msgs/Header`` stamped ``ns`` nanoseconds after the epoch."""
    return typestore().types["std_msgs/msg/Header"](stamp=_stamp(ns), frame_id=frame_id)


def image_message(frame: np.ndarray, stamp_ns: int, frame_id: str, color_order: str = "rgb"):
    """``sensor_msgs/Image`` of an HxWx3 uint8 frame (``rgb8`` or ``bgr8`` as the frame is ordered)."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frames must be HxWx3 uint8 arrays, got {frame.shape} {frame.dtype}")
    h, w = frame.shape[:2]
    return typestore().types[IMAGE_TYPE](
        header=header_message(stamp_ns, frame_id), height=h, width=w, encoding=f"{color_order}8", is_bigendian=0,
        step=w * 3, data=np.ascontiguousarray(frame).reshape(-1),
    )


def compressed_message(frame: np.ndarray, stamp_ns: int, frame_id: str, color_order: str = "rgb",
                       fmt: str = "jpeg"):
    """``sensor_msgs/CompressedImage`` (``jpeg`` or lossless ``png``) of an HxWx3 uint8 frame."""
    bgr = frame[..., ::-1] if color_order == "rgb" else frame
    ok, buf = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", np.ascontiguousarray(bgr))
    if not ok:
        raise ValueError(f"could not encode a frame as {fmt}")
    return typestore().types[COMPRESSED_TYPE](header=header_message(stamp_ns, frame_id), format=fmt, data=buf.reshape(-1))


#: Why a ground-truth message carries no box (zero size); the word is the ``class_id`` of its one result.
#: ``absent``: the target is flagged not visible (absent, fully occluded, out of view); ``unknown``: the
#: benchmark gives no annotation for this frame (GOT-10k test, TrackingNet after the first frame);
#: ``invalid``: the annotation exists but is not a box (LaSOT's ``0,0,0,0`` on a frame not flagged).
GT_STATES = ("absent", "unknown", "invalid")


def _state_result(state: str):
    t = typestore().types
    pose = t["geometry_msgs/msg/Pose"](
        position=t["geometry_msgs/msg/Point"](x=0.0, y=0.0, z=0.0),
        orientation=t["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
    )
    return t["vision_msgs/msg/ObjectHypothesisWithPose"](
        hypothesis=t["vision_msgs/msg/ObjectHypothesis"](class_id=state, score=0.0),
        pose=t["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=np.zeros(36)),
    )


def detection_message(box: np.ndarray | None, stamp_ns: int, frame_id: str, object_id: str = "",
                      state: str = "absent"):
    """``vision_msgs/Detection2D`` of an ``x, y, w, h`` box. Without a box (None / NaN / zero size) the size
    is zero and the one result's ``class_id`` says why (:data:`GT_STATES`).
    """
    t = typestore().types
    results = []
    if box is None or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        cx = cy = w = h = 0.0
        if state not in GT_STATES:
            raise ValueError(f"ground-truth state must be one of {GT_STATES}, got {state!r}")
        results = [_state_result(state)]
    else:
        x, y, w, h = (float(v) for v in box)
        cx, cy = x + w / 2.0, y + h / 2.0
    bbox = t["vision_msgs/msg/BoundingBox2D"](
        center=t["vision_msgs/msg/Pose2D"](position=t["vision_msgs/msg/Point2D"](x=cx, y=cy), theta=0.0),
        size_x=w, size_y=h,
    )
    return t[DETECTION_TYPE](header=header_message(stamp_ns, frame_id), results=results, bbox=bbox, id=object_id)


def detection_box(det) -> np.ndarray:
    """``x, y, w, h`` of a Detection2D; NaN for a zero-size box (no box: see :func:`detection_state`)."""
    w, h = float(det.bbox.size_x), float(det.bbox.size_y)
    if w <= 0 or h <= 0:
        return np.full(4, np.nan)
    c = det.bbox.center.position
    return np.array([c.x - w / 2.0, c.y - h / 2.0, w, h])


def detection_state(det) -> str:
    """``visible`` for a box, else the reason the message gives (:data:`GT_STATES`); a zero-size box without
    a reason (an older bag, a user's recording) reads as ``absent``.
    """
    if det is None:
        return "unknown"
    if det.bbox.size_x > 0 and det.bbox.size_y > 0:
        return "visible"
    reasons = [r.hypothesis.class_id for r in det.results if r.hypothesis.class_id in GT_STATES]
    return reasons[0] if reasons else "absent"


def decode_image(msg, color_order: str = "rgb") -> np.ndarray:
    """HxWx3 uint8 frame in ``color_order`` from a bag's Image or CompressedImage, decoded exactly as the
    tracking node decodes live messages (every encoding it supports).
    """
    frame = compressed_to_frame(msg, color_order) if hasattr(msg, "format") else image_to_frame(msg, color_order)
    return np.array(frame)  # own the pixels: the deserialized message buffer is not kept
