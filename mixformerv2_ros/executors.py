"""An executor whose wait survives an entity destroyed by a callback on another thread.

rclpy (Humble to Kilted) builds each wait set from a snapshot of the nodes' entities. When a callback on
another executor thread destroys a subscription or publisher in the meantime (a lifecycle deactivate or
cleanup does exactly that), adding that entity's QoS event handler to the wait set raises ``InvalidHandle``
out of ``spin()``, which ends the node's process. The entity has already left its node by then, so the next
wait does not see it: retrying that one wait loses nothing.
"""
from __future__ import annotations

from typing import Optional

from rclpy.exceptions import InvalidHandle
from rclpy.executors import MultiThreadedExecutor


class ResilientMultiThreadedExecutor(MultiThreadedExecutor):
    """``MultiThreadedExecutor`` whose ``spin()`` outlives entities destroyed by concurrent callbacks."""

    def spin_once(self, timeout_sec: Optional[float] = None) -> None:
        try:
            super().spin_once(timeout_sec)
        except InvalidHandle:
            pass  # an entity destroyed while this wait was set up; it is gone from the next one
