"""Two clicks (rqt_image_view's ``<image topic>_mouse_left`` points) become one box: opposite corners."""
from __future__ import annotations

import math
import threading
from typing import Optional

Box = tuple[float, float, float, float]


class ClickBoxBuilder:
    """Collects the first corner, returns the (x, y, w, h) box on the second click and starts over.

    Thread-safe: the node's click callbacks may run on several executor threads at once.
    """

    def __init__(self) -> None:
        self._first: Optional[tuple[float, float]] = None
        self._lock = threading.Lock()

    @property
    def waiting_for_second(self) -> bool:
        return self._first is not None

    def reset(self) -> None:
        with self._lock:
            self._first = None

    def click(self, x: float, y: float) -> Optional[Box]:
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"click at non-finite position ({x}, {y})")
        with self._lock:
            if self._first is None:
                self._first = (float(x), float(y))
                return None
            (x0, y0), self._first = self._first, None
        return (min(x0, x), min(y0, y), abs(x - x0), abs(y - y0))
