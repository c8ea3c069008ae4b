"""What the node counts and reports: frame counters, latency, problems (throttled), and /diagnostics content."""
from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Callable, Iterable, Optional

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


class ProblemReporter:
    """Counts problems by kind and logs each kind at most once per ``period`` seconds (bad input can be 30 Hz)."""

    def __init__(self, log: Callable[[str], None], period: float = 5.0) -> None:
        self._log = log
        self.period = period
        self._last_logged: dict[str, float] = {}
        self.counts: Counter = Counter()
        self.last_message = ""
        self._lock = threading.Lock()

    def report(self, kind: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.counts[kind] += 1
            self.last_message = message
            last = self._last_logged.get(kind)
            if last is not None and now - last < self.period:
                return
            self._last_logged[kind] = now
            repeats = self.counts[kind]
        self._log(f"{message}" + (f" ({repeats} times so far)" if repeats > 1 else ""))


class ArrivalMonitor:
    """Frames that never reached the node, estimated from gaps in the header stamps of those that did.

    The camera's frame interval is taken as the median of the stamp gaps close to the smallest one seen in the
    last ``window`` frames (robust to jitter, and found even when most frames are lost: two consecutive
    frames now and then suffice). A gap of ``k`` intervals means ``k - 1`` frames missing. Gaps longer than
    ``pause_s``, equal stamps (unstamped publishers) and stamps going back (a replay restarting) are not loss.
    """

    def __init__(self, window: int = 300, pause_s: float = 10.0) -> None:
        self._gaps: deque = deque(maxlen=window)
        self._arrivals: deque = deque(maxlen=window)
        self._pause_ns = int(pause_s * 1e9)
        self._last_stamp: Optional[int] = None
        self.lost_total = 0

    def arrived(self, stamp_ns: int, now: float) -> None:
        """Not thread-safe: called under :class:`FrameStats`' lock."""
        self._arrivals.append(now)
        last, self._last_stamp = self._last_stamp, stamp_ns
        if last is None or not 0 < stamp_ns - last <= self._pause_ns:
            return
        self._gaps.append(stamp_ns - last)
        self.lost_total += self._missing(stamp_ns - last, self.interval_ns())

    def interval_ns(self) -> Optional[float]:
        if not self._gaps:
            return None
        shortest = min(self._gaps)
        near = sorted(gap for gap in self._gaps if gap <= 1.5 * shortest)
        return float(near[len(near) // 2])

    @staticmethod
    def _missing(gap: int, interval: Optional[float]) -> int:
        return max(0, round(gap / interval) - 1) if interval else 0

    def recent_lost_share(self) -> Optional[float]:
        """Share of the frames of the last ``window`` gaps that never arrived (None before two stamps)."""
        interval = self.interval_ns()
        if interval is None:
            return None
        missing = sum(self._missing(gap, interval) for gap in self._gaps)
        return missing / (missing + len(self._gaps))

    def received_rate_hz(self, now: float) -> float:
        times = self._arrivals
        if len(times) < 2 or times[-1] == times[0]:
            return 0.0
        mean_period = (times[-1] - times[0]) / (len(times) - 1)
        if now - times[-1] > 2.0 * mean_period + 1.0:
            return 0.0  # the stream stopped
        return (len(times) - 1) / (times[-1] - times[0])


class FrameStats:
    """Frame counters and a sliding window of processing times, shared by the callbacks and the worker."""

    def __init__(self, window: int = 100) -> None:
        self._lock = threading.Lock()
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.bad = 0
        self.debug_images = 0
        self.lost_events = 0  # targets that turned lost (the core's state machine)
        self.reacquired_events = 0  # lost targets found again
        self._done_times: deque = deque(maxlen=window)
        self._latencies_ms: deque = deque(maxlen=window)
        self.arrivals = ArrivalMonitor()

    def received_frame(self, stamp_ns: int) -> None:
        with self._lock:
            self.received += 1
            self.arrivals.arrived(stamp_ns, time.monotonic())

    def arrival_summary(self) -> tuple[float, int, Optional[float], Optional[float]]:
        """(received rate Hz, frames lost in total, lost share of the recent window, frame interval ms)."""
        with self._lock:
            interval = self.arrivals.interval_ns()
            return (self.arrivals.received_rate_hz(time.monotonic()), self.arrivals.lost_total,
                    self.arrivals.recent_lost_share(), None if interval is None else interval / 1e6)

    def count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def processed_frame(self, latency_s: float) -> None:
        with self._lock:
            self.processed += 1
            self._done_times.append(time.monotonic())
            self._latencies_ms.append(latency_s * 1000.0)

    def rate_hz(self) -> float:
        with self._lock:
            times = list(self._done_times)
        if len(times) < 2 or times[-1] == times[0]:
            return 0.0
        if time.monotonic() - times[-1] > 2.0 * (times[-1] - times[0]) / (len(times) - 1) + 1.0:
            return 0.0  # stalled
        return (len(times) - 1) / (times[-1] - times[0])

    def latency_ms(self) -> tuple[float, float]:
        """(median, max) over the window."""
        with self._lock:
            values = sorted(self._latencies_ms)
        if not values:
            return 0.0, 0.0
        return values[len(values) // 2], values[-1]


def build_diagnostics(stamp, name: str, hardware_id: str, state: str, stats: FrameStats,
                      problems: ProblemReporter, targets: Iterable[tuple[str, str, float]],
                      failure: Optional[str], loss_warn_share: float = 1.0,
                      extra: Optional[dict[str, str]] = None) -> DiagnosticArray:
    """One DiagnosticStatus: ERROR when the model could not be loaded; WARN for lost targets, frames lost
    before the node (recent share above ``loss_warn_share``) or bad input; OK otherwise.
    """
    targets = list(targets)
    median_ms, max_ms = stats.latency_ms()
    received_hz, lost_total, lost_share, interval_ms = stats.arrival_summary()
    values = {
        "state": state,
        "received_rate_hz": f"{received_hz:.2f}",
        "processing_rate_hz": f"{stats.rate_hz():.2f}",
        "latency_median_ms": f"{median_ms:.2f}",
        "latency_max_ms": f"{max_ms:.2f}",
        "frames_received": str(stats.received),
        "frames_processed": str(stats.processed),
        "frames_dropped": str(stats.dropped),
        "frames_bad": str(stats.bad),
        "frames_lost_estimate": str(lost_total),
        "lost_share_recent": "n/a" if lost_share is None else f"{lost_share:.3f}",
        "frame_interval_ms": "n/a" if interval_ms is None else f"{interval_ms:.2f}",
        "targets": str(len(targets)),
        "target_lost_events": str(stats.lost_events),
        "target_reacquired_events": str(stats.reacquired_events),
    }
    values.update(extra or {})
    for target_id, target_state, score in targets:
        values[f"target.{target_id}"] = f"{target_state} ({score:.2f})"
    for kind, count in sorted(problems.counts.items()):
        values[f"problem.{kind}"] = str(count)
    if problems.last_message:
        values["last_problem"] = problems.last_message
    warnings = []
    if any(target_state == "lost" for _, target_state, _ in targets):
        warnings.append("target lost")
    if lost_share is not None and lost_share > loss_warn_share:
        warnings.append(f"{100 * lost_share:.1f}% of recent frames never reached the node (lost in transport)")
    if problems.counts:
        warnings.append("bad input seen: " + problems.last_message)
    status = DiagnosticStatus(name=name, hardware_id=hardware_id)
    if failure:
        status.level, status.message = DiagnosticStatus.ERROR, failure
    elif warnings:
        status.level, status.message = DiagnosticStatus.WARN, "; ".join(warnings)
    else:
        status.level, status.message = DiagnosticStatus.OK, f"{state}, {len(targets)} target(s)"
    status.values = [KeyValue(key=key, value=value) for key, value in values.items()]
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [status]
    return array
