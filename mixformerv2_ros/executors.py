"""What keeps a node process's executor serving: a wait that survives entities destroyed mid-spin, and
executor threads that get the GIL soon after a message arrives.

rclpy (Humble to Kilted) builds each wait set from a snapshot of the nodes' entities. When a callback on
another executor thread destroys a subscription or publisher in the meantime (a lifecycle deactivate or
cleanup does exactly that), adding that entity's QoS event handler to the wait set raises ``InvalidHandle``
out of ``spin()``, which ends the node's process. The entity has already left its node by then, so the next
wait does not see it: retrying that one wait loses nothing.
"""
from __future__ import annotations

import sys
from typing import Optional

from rclpy.exceptions import InvalidHandle
from rclpy.executors import MultiThreadedExecutor


# Python's default is 5 ms. Between its torch kernels the tracker's worker thread runs Python; an executor
# thread woken by a frame waits up to the whole interval for the GIL, several times per message (the wait,
# the hand-off to a pool thread, the take). At 5 ms a keep-last-1 reader of a 30 Hz camera lost up to 44 %
# of the frames on 2 loaded cores (docs/ros.md, "Executor threads and the GIL").
GIL_SWITCH_INTERVAL_S = 0.0005


def favour_executor_threads() -> None:
    """Shortens the GIL switch interval of this process: call it where a tracking node process starts."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


class ResilientMultiThreadedExecutor(MultiThreadedExecutor):
    """``MultiThreadedExecutor`` whose ``spin()`` outlives entities destroyed by concurrent callbacks."""

    def spin_once(self, timeout_sec: Optional[float] = None) -> None:
        try:
            super().spin_once(timeout_sec)
        except InvalidHandle:
            pass  # an entity destroyed while this wait was set up; it is gone from the next one
