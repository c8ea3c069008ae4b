"""Live replay: play a bag through rclpy into the running tracking node and score what it publishes.

Frames are republished as ``sensor_msgs/Image`` with fresh header stamps (the time of publishing) at the
bag's frame rate times ``rate``. The first frame with a valid ground-truth box is sent first; once the node
has answered it, the box goes to the node's init topic with that frame's stamp (the node starts the target
on the buffered frame with the same stamp), and after a short settle time the remaining frames follow in
real time. Every ``Detection2DArray`` the node publishes is matched to its frame by header stamp.

Reported on top of the usual metrics: end-to-end latency (image header stamp to receipt of the node's
output, same clock) and the share of frames without an answer, split by the node's own counters on
/diagnostics (read before and after the replay) into frames lost in transport (published here, never reached
the node's callback) and frames the node skipped because it was busy (its one-slot input mailbox keeps only
the newest frame when tracking is slower than the stream) or refused as bad. For scoring, an unanswered frame
keeps the previous output, which is what a consumer of the node holds at that moment.
"""
from __future__ import annotations

import threading
import time
from itertools import islice
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2D, Detection2DArray

from mixformerv2_core.evaluation.results import TrackOutput, save_result

from .bags import BagSequence, iter_images
from .detection_messages import detection_from_box
from .stamps import set_stamp_ns, stamp_to_ns
from .image_conversion import frame_to_image
from .replay import ReplayResult, load_for_replay, score, write_outputs

TARGET_ID = "replay"


@dataclass
class LiveRecord:
    """What came back from the node: per published stamp, the target's box and the receipt time."""

    published: dict[int, int] = field(default_factory=dict)  # stamp ns -> frame index
    boxes: dict[int, tuple] = field(default_factory=dict)  # frame index -> (x, y, w, h) of our target
    answered: dict[int, int] = field(default_factory=dict)  # frame index -> receipt ns (any output)
    publishes: int = 0  # images published, re-sent first frames included
    lock: threading.Lock = field(default_factory=threading.Lock)


NODE_COUNTERS = ("frames_received", "frames_dropped", "frames_bad")


class NodeCounters:
    """The tracking node's frame counters from its /diagnostics status (``hardware_id`` = its full name)."""

    def __init__(self, node: Node, tracker_node: str) -> None:
        self._hardware_id = tracker_node
        self._lock = threading.Lock()
        self._latest: Optional[tuple[float, dict[str, int]]] = None
        self.subscription = node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.hardware_id != self._hardware_id:
                continue
            values = {kv.key: kv.value for kv in status.values}
            if all(key in values for key in NODE_COUNTERS):
                with self._lock:
                    self._latest = (time.monotonic(), {key: int(values[key]) for key in NODE_COUNTERS})

    def read_after(self, since: float, timeout: float) -> Optional[dict[str, int]]:
        """The counters of the first status received after ``since`` (monotonic), or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._latest is not None and self._latest[0] > since:
                    return dict(self._latest[1])
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)


def split_unanswered(published: int, before: Optional[dict], after: Optional[dict]) -> dict:
    """Frames without an answer, split into lost in transport and skipped (busy) / refused by the node.

    Uses the difference of the node's counters across the replay; without them (no /diagnostics seen) the
    split is unknown (None values).
    """
    if before is None or after is None:
        return {"frames_published": published, "frames_received_by_node": None, "lost_in_transport": None,
                "skipped_busy": None, "refused_bad": None}
    received = after["frames_received"] - before["frames_received"]
    return {
        "frames_published": published,
        "frames_received_by_node": received,
        "lost_in_transport": max(0, published - received),
        "skipped_busy": after["frames_dropped"] - before["frames_dropped"],
        "refused_bad": after["frames_bad"] - before["frames_bad"],
    }


class LivePlayer:
    """Publishes frames and the init box to the tracking node and records its detections."""

    def __init__(self, node: Node, image_topic: str, init_topic: str, output_topic: str) -> None:
        self.node = node
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.image_pub = node.create_publisher(Image, image_topic, reliable)
        self.init_pub = node.create_publisher(Detection2D, init_topic, reliable)
        self.record = LiveRecord()
        self._sub = node.create_subscription(Detection2DArray, output_topic, self._on_output,
                                             QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        self._topics = (image_topic, init_topic, output_topic)

    def _now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds

    def _on_output(self, msg: Detection2DArray) -> None:
        received = self._now_ns()
        stamp = stamp_to_ns(msg.header.stamp)
        with self.record.lock:
            index = self.record.published.get(stamp)
            if index is None:
                return
            self.record.answered.setdefault(index, received)
            for det in msg.detections:
                if det.id == TARGET_ID:
                    c = det.bbox.center.position
                    w, h = det.bbox.size_x, det.bbox.size_y
                    self.record.boxes[index] = (c.x - w / 2.0, c.y - h / 2.0, w, h)

    def wait_for_node(self, timeout: float) -> None:
        image_topic, init_topic, output_topic = self._topics
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.image_pub.get_subscription_count() and self.init_pub.get_subscription_count()
                    and self.node.count_publishers(output_topic)):
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"the tracking node does not answer within {timeout:g} s: nothing subscribes to {image_topic} and "
            f"{init_topic} or publishes {output_topic}; is it running and active?")

    def publish_frame(self, index: int, frame: np.ndarray, frame_id: str) -> int:
        msg = frame_to_image(frame, None, "rgb")
        stamp_ns = self._now_ns()
        set_stamp_ns(msg.header.stamp, stamp_ns)
        msg.header.frame_id = frame_id
        with self.record.lock:
            self.record.published[stamp_ns] = index
            self.record.publishes += 1
        self.image_pub.publish(msg)
        return stamp_ns

    def send_init(self, stamp_ns: int, box, frame_id: str) -> None:
        from std_msgs.msg import Header

        header = Header()
        set_stamp_ns(header.stamp, stamp_ns)
        header.frame_id = frame_id
        self.init_pub.publish(detection_from_box(header, TARGET_ID, tuple(float(v) for v in box), 1.0, "init"))

    def wait_answer(self, index: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.record.lock:
                if index in self.record.answered:
                    return True
            time.sleep(0.005)
        return False

    def _publish_first(self, frame: np.ndarray, frame_id: str, timeout: float) -> int:
        """Send frame 0 until the node answers it; returns the answered stamp.

        Discovery is not symmetric: our publisher can see the node's subscription before the node has matched
        our publisher, and a best-effort frame sent in that gap is lost. Re-sending bridges the gap.
        """
        deadline = time.monotonic() + timeout
        while True:
            stamp = self.publish_frame(0, frame, frame_id)
            if self.wait_answer(0, min(0.5, max(0.0, deadline - time.monotonic()))):
                return stamp
            if time.monotonic() >= deadline:
                raise RuntimeError("the tracking node published nothing for the first frame; is it active?")
            with self.record.lock:
                self.record.published.pop(stamp, None)  # never answered: it does not count as sent

    def play(self, bag: BagSequence, start: int, init_box, rate: float, timeout: float, settle: float) -> int:
        """Send the init frame and box, then the rest in real time; returns the number of frames sent."""
        frames = bag.frames[start:]
        images = islice(iter_images(bag.path, bag.image_topic, "rgb"), start, len(bag.frames))
        first = self._publish_first(next(images), frames[0].frame_id, timeout)
        self.send_init(first, init_box, frames[0].frame_id)
        time.sleep(settle)
        t0 = time.monotonic()
        for i in range(1, len(frames)):
            due = t0 + (frames[i].stamp_ns - frames[1].stamp_ns) / 1e9 / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.publish_frame(i, next(images), frames[i].frame_id)
        # let the outputs of the last frames arrive (the node may still be working on one)
        quiet_until = time.monotonic() + 1.0
        seen = -1
        while time.monotonic() < quiet_until:
            with self.record.lock:
                count = len(self.record.answered)
            if count != seen:
                seen, quiet_until = count, time.monotonic() + 1.0
            if count >= len(frames):
                break
            time.sleep(0.02)
        return len(frames)


def summarize(record: LiveRecord, n_frames: int, init_box) -> tuple[np.ndarray, np.ndarray, dict]:
    """Boxes held per frame, per-frame latency (NaN where skipped) and the live statistics."""
    stamps = {index: stamp for stamp, index in record.published.items()}
    boxes = np.zeros((n_frames, 4))
    latency = np.full(n_frames, np.nan)
    held = np.asarray(init_box, float)
    without_target = 0
    for i in range(n_frames):
        if i in record.answered:
            latency[i] = (record.answered[i] - stamps[i]) / 1e9
        if i > 0 and i in record.boxes:
            held = np.asarray(record.boxes[i], float)
        elif i > 0 and i in record.answered:
            without_target += 1
        boxes[i] = held
    tracked = latency[1:]
    answered = np.isfinite(tracked)
    stats = {
        "frames_sent": n_frames,
        "frames_answered": int(answered.sum()),
        "skipped_share": float(1.0 - answered.mean()) if len(tracked) else 0.0,
        "answers_without_target": without_target,
        "latency_ms_median": float(np.nanmedian(tracked) * 1e3) if answered.any() else float("nan"),
        "latency_ms_p90": float(np.nanpercentile(tracked, 90) * 1e3) if answered.any() else float("nan"),
        "latency_ms_max": float(np.nanmax(tracked) * 1e3) if answered.any() else float("nan"),
    }
    return boxes, latency, stats


def replay_live(
    node: Node,
    bag_path: str | Path,
    out_dir: str | Path,
    *,
    tracker_node: str = "/mixformerv2_tracker",
    image_topic: str = "/image",
    init_topic: Optional[str] = None,
    output_topic: Optional[str] = None,
    bag_image_topic: Optional[str] = None,
    gt_topic: Optional[str] = None,
    gt_file: Optional[str | Path] = None,
    rate: float = 1.0,
    timeout: float = 10.0,
    settle: float = 0.3,
    name: Optional[str] = None,
    protocol: str = "ope",
) -> ReplayResult:
    """Play a bag into the tracking node with ``node`` (spun here) and score the node's output."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    bag_path, out_dir = Path(bag_path), Path(out_dir)
    name = name or bag_path.name
    bag, gt, start = load_for_replay(bag_path, bag_image_topic, gt_topic, gt_file)
    player = LivePlayer(node, image_topic, init_topic or f"{tracker_node}/init",
                        output_topic or f"{tracker_node}/detections")
    counters = NodeCounters(node, tracker_node)
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        player.wait_for_node(timeout)
        before = counters.read_after(-1.0, min(timeout, 5.0))  # the node's latest status (period: 1 s default)
        sent = player.play(bag, start, gt[start], rate, timeout, settle)
        after = counters.read_after(time.monotonic(), min(timeout, 5.0)) if before is not None else None
    finally:
        executor.shutdown()
        spinner.join(timeout=2.0)
        node.destroy_subscription(player._sub)
        node.destroy_subscription(counters.subscription)
    with player.record.lock:
        boxes, latency, stats = summarize(player.record, sent, gt[start])
        stats.update(split_unanswered(player.record.publishes, before, after))
    save_result(out_dir, name, TrackOutput(boxes, np.nan_to_num(latency, nan=0.0), np.ones(sent)))
    (out_dir / f"{name}_latency.txt").write_text("".join(f"{v * 1e3:.3f}\n" for v in latency))
    visible = bag.visible[start:start + sent] if bag.visible is not None and gt_file is None else None
    scores = score(name, boxes, gt[start:start + sent], protocol, visible)  # as offline replay scores it
    elapsed = (max(player.record.answered.values()) - min(player.record.published)) / 1e9 if player.record.answered else 0
    result = ReplayResult(
        name=name, frames_evaluated=sent, frames_in_bag=bag.expected_frames, first_frame=start,
        complete=bag.complete, error=bag.error,
        fps=stats["frames_answered"] / elapsed if elapsed > 0 else float("nan"),
        metrics=scores.summary() if scores else {},
        extra={"mode": "live", "rate": rate, "protocol": protocol, **stats},
    )
    write_outputs(out_dir, result, scores)
    return result


def run_live(args) -> ReplayResult:
    """``mixformerv2-replay --live``: own rclpy context and node for the duration of the replay.

    Its own context, not the process-wide default one: a caller that already runs rclpy (a test session, an
    embedding program) keeps its context, and the replay never calls ``rclpy.init()`` on it a second time.
    """
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("mixformerv2_replay", context=context)
        try:
            result = replay_live(
                node, args.bag, args.out, tracker_node=args.node, image_topic=args.node_image_topic,
                init_topic=args.init_topic, output_topic=args.output_topic, bag_image_topic=args.image_topic,
                gt_topic=args.gt_topic, gt_file=args.gt_file, rate=args.rate, timeout=args.timeout,
                name=args.name, protocol=args.protocol,
            )
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
    print(f"latency median {result.extra['latency_ms_median']:.1f} ms, p90 {result.extra['latency_ms_p90']:.1f} ms; "
          f"skipped {100 * result.extra['skipped_share']:.1f}% of frames")
    print(describe_unanswered(result.extra))
    return result


def describe_unanswered(extra: dict) -> str:
    """One line: where the unanswered frames went (transport or the busy node), from the node's counters."""
    published = extra["frames_published"]
    if extra["lost_in_transport"] is None:
        return ("the node's /diagnostics were not seen: cannot tell frames lost in transport from frames the "
                "node skipped")
    share = (lambda count: 100.0 * count / published) if published else (lambda count: 0.0)
    return (f"of {published} frames published: {extra['lost_in_transport']} ({share(extra['lost_in_transport']):.1f}%) "
            f"lost in transport (never reached the node), {extra['skipped_busy']} "
            f"({share(extra['skipped_busy']):.1f}%) skipped by the node while busy, {extra['refused_bad']} refused as "
            f"bad input")
