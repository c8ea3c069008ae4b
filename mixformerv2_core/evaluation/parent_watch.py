"""Worker processes that end with their parent: a SIGKILLed ``mixformerv2-eval`` runs no cleanup code, and
without this its workers (each with a model in memory) would keep running forever."""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _request_death_signal() -> None:
    """Linux: the kernel sends SIGKILL to this process when the thread that created it exits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the polling thread below still ends the worker


def _poll(parent_pid: int, interval: float) -> None:
    while True:
        if os.getppid() != parent_pid:  # reparented: the parent is gone
            os._exit(1)
        time.sleep(interval)


def exit_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """End this process as soon as ``parent_pid`` (its parent) dies: at once on Linux (a death signal), within
    ``interval`` seconds elsewhere (a daemon thread polls the parent id). Call it first in a worker."""
    _request_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_poll, args=(parent_pid, interval), daemon=True, name="parent-watch").start()
