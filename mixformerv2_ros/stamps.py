"""Header stamps <-> integer nanoseconds: the one conversion every tool uses to match frames by stamp.

Works on any object with ``sec`` and ``nanosec`` (rclpy messages and the rosbags types alike).
"""
from __future__ import annotations

from typing import Any

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: Any) -> int:
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def set_stamp_ns(stamp: Any, ns: int) -> Any:
    """Writes ``ns`` into ``stamp`` (a Time message) and returns it."""
    stamp.sec, stamp.nanosec = divmod(int(ns), NS_PER_S)
    return stamp
