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


class FrameStats:
    """Frame counters and a sliding window of processing times, shared by the callbacks and the worker."""

    def __init__(self, window: int = 100) -> None:
        self._lock = threading.Lock()
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.bad = 0
        self.debug_images = 0
        self._done_times: deque = deque(maxlen=window)
        self._latencies_ms: deque = deque(maxlen=window)

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
                      failure: Optional[str]) -> DiagnosticArray:
    """One DiagnosticStatus: ERROR when the model could not be loaded, WARN for lost targets or bad input."""
    targets = list(targets)
    median_ms, max_ms = stats.latency_ms()
    values = {
        "state": state,
        "processing_rate_hz": f"{stats.rate_hz():.2f}",
        "latency_median_ms": f"{median_ms:.2f}",
        "latency_max_ms": f"{max_ms:.2f}",
        "frames_received": str(stats.received),
        "frames_processed": str(stats.processed),
        "frames_dropped": str(stats.dropped),
        "frames_bad": str(stats.bad),
        "targets": str(len(targets)),
    }
    for target_id, target_state, score in targets:
        values[f"target.{target_id}"] = f"{target_state} ({score:.2f})"
    for kind, count in sorted(problems.counts.items()):
        values[f"problem.{kind}"] = str(count)
    if problems.last_message:
        values["last_problem"] = problems.last_message
    status = DiagnosticStatus(name=name, hardware_id=hardware_id)
    if failure:
        status.level, status.message = DiagnosticStatus.ERROR, failure
    elif any(target_state == "lost" for _, target_state, _ in targets):
        status.level, status.message = DiagnosticStatus.WARN, "target lost"
    elif problems.counts:
        status.level, status.message = DiagnosticStatus.WARN, "bad input seen: " + problems.last_message
    else:
        status.level, status.message = DiagnosticStatus.OK, f"{state}, {len(targets)} target(s)"
    status.values = [KeyValue(key=key, value=value) for key, value in values.items()]
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [status]
    return array
