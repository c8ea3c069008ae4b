"""A short ring buffer of recent image messages, so an init box can be applied to the frame it was drawn on."""
from __future__ import annotations

import threading
from collections import deque
from typing import Any, Optional

from .stamps import stamp_to_ns


class FrameRingBuffer:
    """Keeps the last ``capacity`` messages (not decoded: decoding happens only for the one that is used)."""

    def __init__(self, capacity: int) -> None:
        self._messages: deque = deque(maxlen=max(1, int(capacity)))
        self._lock = threading.Lock()

    def push(self, msg: Any) -> None:
        with self._lock:
            self._messages.append(msg)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def __len__(self) -> int:
        return len(self._messages)

    def latest(self) -> Optional[Any]:
        with self._lock:
            return self._messages[-1] if self._messages else None

    def find(self, stamp: Any) -> tuple[Optional[Any], bool]:
        """(message, exact): the message with this header stamp, else the latest (exact=False), else None."""
        wanted = stamp_to_ns(stamp)
        with self._lock:
            if not self._messages:
                return None, False
            for msg in reversed(self._messages):
                if stamp_to_ns(msg.header.stamp) == wanted:
                    return msg, True
            return self._messages[-1], False
