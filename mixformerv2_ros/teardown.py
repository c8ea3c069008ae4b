"""A node process that ends soon after ROS shuts down, whatever its teardown still waits on.

On SIGINT or SIGTERM rclpy shuts the context down from its own signal thread; the main thread then stops the
node, the executor and rclpy. Once, under a camera stream, that teardown did not end within 10 s (docs/ros.md,
"Shutdown deadline"); launch would escalate to SIGTERM after 5 s and SIGKILL later, and a process that hangs
without a trace cannot be mended. The watchdog here does not depend on the main thread: it polls the context
and, a deadline after shutdown, writes where every thread waits and ends the process.
"""
from __future__ import annotations

import faulthandler
import os
import sys
import threading
import time

import rclpy

TEARDOWN_DEADLINE_S = 3.0  # after shutdown; inside launch's 5 s between SIGINT and SIGTERM
POLL_INTERVAL_S = 0.2


class TeardownWatchdog:
    """A daemon thread that ends the process (status 0) ``deadline_s`` after ``context`` shut down, having
    written the stacks of all threads to stderr; a process that ends sooner, or disarms it, never hears from it.
    """

    def __init__(self, context: rclpy.Context, prog: str, deadline_s: float = TEARDOWN_DEADLINE_S) -> None:
        self._context, self._prog, self._deadline_s = context, prog, deadline_s
        self._disarmed = threading.Event()
        threading.Thread(target=self._watch, name="teardown_watchdog", daemon=True).start()

    def disarm(self) -> None:
        """For a process that fails: its own exit status must stand."""
        self._disarmed.set()

    def _context_ok(self) -> bool:
        """The state of rcl's context, read without ``Context.ok()``'s lock: a teardown stuck in
        ``Context.shutdown()`` holds that lock.
        """
        try:
            handle = self._context.handle
            if handle is None:
                return False
            with handle:
                return handle.ok()
        except Exception:  # noqa: BLE001 - a destroyed context is a shut down one
            return False

    def _watch(self) -> None:
        while self._context_ok() and not self._disarmed.is_set():
            time.sleep(POLL_INTERVAL_S)
        if self._disarmed.wait(self._deadline_s):
            return
        sys.stderr.write(f"{self._prog}: warning: teardown still running {self._deadline_s:g} s after shutdown; "
                         "leaving without it. Where each thread waited:\n")
        faulthandler.dump_traceback(sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(0)


__all__ = ["TEARDOWN_DEADLINE_S", "TeardownWatchdog"]
