"""vision_msgs Detection2D <-> tracker boxes: init requests in, per-target detections out.

Each output detection carries two hypotheses: ``results[0]`` is the configured object label with the
tracker's score, ``results[1]`` the target's state (``state:tracking``, ``state:uncertain``, ``state:lost`` or
``state:reacquired``, same score) as the core's state machine decided it (``TrackResult.state``). The label
therefore never changes with the state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from mixformerv2_core import TargetState
from mixformerv2_core.geometry import cxcywh_to_xywh, xywh_to_cxcywh

DEFAULT_TARGET_ID = "0"
MAX_ID_BYTES = 256  # a target id is a name, not a payload
MIN_BOX_SIDE = 2.0  # pixels: nothing smaller gives the network a template to track
STATE_PREFIX = "state:"
STATE_TRACKING = STATE_PREFIX + TargetState.TRACKING.value
STATE_LOST = STATE_PREFIX + TargetState.LOST.value


@dataclass(frozen=True)
class InitRequest:
    target_id: str
    box_xywh: Optional[tuple[float, float, float, float]]  # None: remove the target (a zero-size box)


def init_request_from_detection(msg: Detection2D) -> InitRequest:
    """An init/remove request; ``ValueError`` with the reason for ids over :data:`MAX_ID_BYTES` and for
    boxes no tracker can start from (NaN, negative size, under :data:`MIN_BOX_SIDE` pixels).
    """
    id_bytes = len(msg.id.encode("utf-8"))
    if id_bytes > MAX_ID_BYTES:
        raise ValueError(f"target id of {id_bytes} bytes is longer than {MAX_ID_BYTES} bytes")
    target_id = msg.id or DEFAULT_TARGET_ID
    center = msg.bbox.center.position
    values = (center.x, center.y, msg.bbox.size_x, msg.bbox.size_y)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"init box for '{target_id}' has non-finite values (cx, cy, w, h) = {values}")
    if msg.bbox.size_x < 0 or msg.bbox.size_y < 0:
        raise ValueError(f"init box for '{target_id}' has a negative size {msg.bbox.size_x} x {msg.bbox.size_y}")
    if msg.bbox.size_x == 0 or msg.bbox.size_y == 0:
        return InitRequest(target_id, None)
    check_box_size(target_id, msg.bbox.size_x, msg.bbox.size_y)
    return InitRequest(target_id, cxcywh_to_xywh(values))


def check_box_size(target_id: str, width: float, height: float) -> None:
    """``ValueError`` for a box under :data:`MIN_BOX_SIDE` pixels a side."""
    if width < MIN_BOX_SIDE or height < MIN_BOX_SIDE:
        raise ValueError(f"init box for '{target_id}' of {width:g} x {height:g} px is smaller than "
                         f"{MIN_BOX_SIDE:g} px a side")


def _hypothesis(class_id: str, score: float) -> ObjectHypothesisWithPose:
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = class_id
    hypothesis.hypothesis.score = float(min(1.0, max(0.0, score))) if math.isfinite(score) else 0.0
    return hypothesis


def detection_from_box(header: Any, target_id: str, box_xywh, score: float, class_id: str,
                       state: Optional[str] = None) -> Detection2D:
    """One Detection2D in image pixels with the given header (copied as is); ``state`` adds the state
    hypothesis (``state:<TargetState value>``) as ``results[1]``.
    """
    cx, cy, w, h = xywh_to_cxcywh(box_xywh)
    detection = Detection2D()
    detection.header = header
    detection.id = str(target_id)
    detection.bbox.center.position.x = float(cx)
    detection.bbox.center.position.y = float(cy)
    detection.bbox.center.theta = 0.0
    detection.bbox.size_x = float(w)
    detection.bbox.size_y = float(h)
    detection.results = [_hypothesis(class_id, score)] + ([_hypothesis(state, score)] if state else [])
    return detection


def tracking_state(result: Any) -> str:
    """The state hypothesis' class_id of a ``TrackResult``: ``state:`` + its state machine's state."""
    return STATE_PREFIX + TargetState(result.state).value


def detections_from_results(header: Any, results: Iterable[Any], label: str) -> Detection2DArray:
    """All targets of one frame: ``label`` always, the state hypothesis after it."""
    array = Detection2DArray()
    array.header = header
    array.detections = [
        detection_from_box(header, result.target_id, result.box, result.score, label, tracking_state(result))
        for result in results
    ]
    return array
