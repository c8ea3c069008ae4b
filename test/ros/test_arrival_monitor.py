"""Frames that never reached the node are estimated from gaps in the header stamps of those that did."""
from __future__ import annotations

import pytest

from mixformerv2_ros.node_status import ArrivalMonitor

INTERVAL_NS = 33_333_333  # 30 Hz


def _feed(monitor, indices, jitter=None):
    for n, index in enumerate(indices):
        offset = 0 if jitter is None else jitter[n % len(jitter)]
        monitor.arrived(1_000_000_000_000 + index * INTERVAL_NS + offset, now=n * 0.033)


def test_no_loss():
    monitor = ArrivalMonitor()
    _feed(monitor, range(100))
    assert monitor.lost_total == 0 and monitor.recent_lost_share() == 0.0
    assert monitor.interval_ns() == pytest.approx(INTERVAL_NS)


def test_every_other_frame_lost_with_jitter():
    monitor = ArrivalMonitor()
    indices = [0, 1] + list(range(3, 201, 2))  # one consecutive pair tells the interval, then half are lost
    _feed(monitor, indices, jitter=[0, 3_000_000, -2_000_000, 1_000_000])
    assert monitor.interval_ns() == pytest.approx(INTERVAL_NS, rel=0.2)
    expected_lost = 201 - len(indices)
    assert abs(monitor.lost_total - expected_lost) <= 1
    assert monitor.recent_lost_share() == pytest.approx(0.5, abs=0.02)


def test_heavy_loss_like_the_issue():
    """1.7 % delivered: the rare consecutive pair still fixes the interval."""
    monitor = ArrivalMonitor()
    indices = sorted({0, 1} | set(range(5, 6000, 59)))
    _feed(monitor, indices)
    assert monitor.recent_lost_share() > 0.95
    assert monitor.lost_total == indices[-1] + 1 - len(indices)


def test_unstamped_paused_and_restarted_streams_are_not_loss():
    monitor = ArrivalMonitor(pause_s=10.0)
    for n in range(10):
        monitor.arrived(0, now=n)  # a publisher that never stamps
    assert monitor.interval_ns() is None and monitor.recent_lost_share() is None and monitor.lost_total == 0
    _feed(monitor, range(10))
    monitor.arrived(1_000_000_000_000 + 9 * INTERVAL_NS + 60 * 10**9, now=2.0)  # a one-minute pause
    _feed(monitor, range(5))  # the replay starts over: stamps go back
    assert monitor.lost_total == 0


def test_received_rate():
    monitor = ArrivalMonitor()
    for n in range(31):
        monitor.arrived(n * INTERVAL_NS, now=100.0 + n / 30)
    assert monitor.received_rate_hz(now=101.0) == pytest.approx(30.0)
    assert monitor.received_rate_hz(now=110.0) == 0.0  # stopped
