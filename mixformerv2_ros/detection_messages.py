"""vision_msgs Detection2D <-> tracker boxes: init requests in, per-target detections out."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from mixformerv2_core.geometry import cxcywh_to_xywh, xywh_to_cxcywh

DEFAULT_TARGET_ID = "0"


@dataclass(frozen=True)
class InitRequest:
    target_id: str
    box_xywh: Optional[tuple[float, float, float, float]]  # None: remove the target (a zero-size box)


def init_request_from_detection(msg: Detection2D) -> InitRequest:
    """An init/remove request; ``ValueError`` for boxes no tracker can start from (NaN, negative size)."""
    target_id = msg.id or DEFAULT_TARGET_ID
    center = msg.bbox.center.position
    values = (center.x, center.y, msg.bbox.size_x, msg.bbox.size_y)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"init box for '{target_id}' has non-finite values (cx, cy, w, h) = {values}")
    if msg.bbox.size_x < 0 or msg.bbox.size_y < 0:
        raise ValueError(f"init box for '{target_id}' has a negative size {msg.bbox.size_x} x {msg.bbox.size_y}")
    if msg.bbox.size_x == 0 or msg.bbox.size_y == 0:
        return InitRequest(target_id, None)
    return InitRequest(target_id, cxcywh_to_xywh(values))


def detection_from_box(header: Any, target_id: str, box_xywh, score: float, class_id: str) -> Detection2D:
    """One Detection2D in image pixels with the given header (copied as is)."""
    cx, cy, w, h = xywh_to_cxcywh(box_xywh)
    detection = Detection2D()
    detection.header = header
    detection.id = str(target_id)
    detection.bbox.center.position.x = float(cx)
    detection.bbox.center.position.y = float(cy)
    detection.bbox.center.theta = 0.0
    detection.bbox.size_x = float(w)
    detection.bbox.size_y = float(h)
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = class_id
    hypothesis.hypothesis.score = float(min(1.0, max(0.0, score)))
    detection.results = [hypothesis]
    return detection


def detections_from_results(header: Any, results: Iterable[Any], label: str, lost_label: str,
                            lost_threshold: float) -> Detection2DArray:
    """All targets of one frame; a target under ``lost_threshold`` carries ``lost_label`` instead of ``label``."""
    array = Detection2DArray()
    array.header = header
    array.detections = [
        detection_from_box(header, result.target_id, result.box, result.score,
                           label if result.score >= lost_threshold else lost_label)
        for result in results
    ]
    return array
