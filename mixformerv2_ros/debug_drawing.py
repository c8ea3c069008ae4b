"""The debug image: boxes, ids and scores drawn on a copy of the frame, optionally downscaled."""
from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

_TRACKED = (40, 220, 40)
_LOST = (230, 60, 40)


def draw_targets(frame: np.ndarray, results: Iterable, scale: float = 1.0, color_order: str = "rgb") -> np.ndarray:
    """A new image (the input stays untouched); a target whose state is not confident (uncertain, lost) is
    drawn in a different colour and captioned with its state.
    """
    height, width = frame.shape[:2]
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        canvas = cv2.resize(np.ascontiguousarray(frame), size, interpolation=cv2.INTER_AREA)
    else:
        canvas, scale = np.array(frame, copy=True, order="C"), 1.0
    for result in results:
        lost = not result.state.confident
        color = _LOST if lost else _TRACKED
        if color_order == "bgr":
            color = color[::-1]
        x, y, w, h = (value * scale for value in result.box)
        top_left, bottom_right = (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h)))
        cv2.rectangle(canvas, top_left, bottom_right, color, 2)
        text = f"{result.target_id} {result.score:.2f}" + (f" {result.state.value}" if lost else "")
        cv2.putText(canvas, text, (top_left[0], max(12, top_left[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1,
                    cv2.LINE_AA)
    return canvas
