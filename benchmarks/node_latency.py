"""What the ROS node adds on top of the tracker: latency through real DDS topics and drop rate at 30 Hz.

For every image size and transport (raw sensor_msgs/Image, JPEG CompressedImage), in one run:
  * tracker step alone: MultiTargetTracker.track() on the decoded frames (same weights, one target);
  * node, lock-step: image published -> Detection2DArray received, one frame at a time (no queueing),
    alternating with the tracker step alone so both see the same machine load; overhead = median of the
    per-frame differences (conversion, DDS transport, message building);
  * node at 30 Hz: frames published at the camera rate; latency of the processed ones and the share of frames
    the latest-frame policy dropped because the model was busy.
Node and publisher share this process (and its GIL), as a camera driver and the node would not; the numbers
are an upper bound of the overhead. Random weights: accuracy is irrelevant, the compute is the real one.

    source .ros_env/setup.sh
    python benchmarks/node_latency.py [--config tiny|S|B] [--weights FILE] [--device cpu|cuda] [--frames 60]
"""
from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
import os
import statistics
import sys
import tempfile
import time

import rclpy
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tracker_speed import machine_description, percentile  # noqa: E402

from mixformerv2_core import MultiTargetTracker, ModelConfig, VARIANTS, build_model, save_checkpoint  # noqa: E402
from mixformerv2_core.synthetic import generate_sequence  # noqa: E402
from mixformerv2_ros.harness import NodeHarness, make_frame_message, wait_for  # noqa: E402
from mixformerv2_ros.image_conversion import compressed_to_frame, image_to_frame  # noqa: E402


class TrackerAlone:
    """The same tracker the node runs, fed the same decoded frames, timed one step at a time."""

    def __init__(self, weights: str, device: str, messages: list, box) -> None:
        self.device = device
        self.tracker = MultiTargetTracker.from_checkpoint(weights, device=device)
        self.frames = [compressed_to_frame(m) if hasattr(m, "format") else image_to_frame(m) for m in messages]
        self.tracker.add(0, self.frames[0], box)

    def step_ms(self, index: int) -> float:
        start = time.perf_counter()
        self.tracker.track(self.frames[index])
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        return (time.perf_counter() - start) * 1000.0


def lockstep_run(harness: NodeHarness, alone: TrackerAlone, pool: ThreadPoolExecutor, messages: list
                 ) -> tuple[list[float], list[float]]:
    """Alternates one tracker step alone and one frame through the node, so both see the same machine load.

    Returns (tracker ms, node ms) per frame; frame i of ``messages`` is frame i + 1 of the sequence.
    """
    alone_ms, node_ms = [], []
    for index, msg in enumerate(messages):
        alone_ms.append(pool.submit(alone.step_ms, index + 1).result())  # a worker thread, like the node's
        msg.header.stamp.sec = 1000 + 1 + index
        sent_at = time.perf_counter()
        harness.publish_raw(msg)
        output = harness.output_for(msg.header, timeout=30.0)
        node_ms.append((harness.received_at[id(output)] - sent_at) * 1000.0)
    return alone_ms, node_ms


def streaming_run(harness: NodeHarness, messages: list, offset: int, rate_hz: float) -> tuple[list[float], int]:
    """Publishes ``messages`` at ``rate_hz``; returns latencies (ms) of the answered frames and their number."""
    sent_at = {}
    first_output = len(harness.arrays)
    for index, msg in enumerate(messages):
        stamp = offset + index
        msg.header.stamp.sec = 1000 + stamp
        sent_at[stamp] = time.perf_counter()
        harness.publish_raw(msg)
        time.sleep(max(0.0, sent_at[stamp] + 1.0 / rate_hz - time.perf_counter()))
    last = messages[-1].header
    wait_for(lambda: any(m.header.stamp == last.stamp for m in harness.arrays[first_output:]), timeout=30.0)
    answered = harness.arrays[first_output:]
    latencies = [(harness.received_at[id(out)] - sent_at[out.header.stamp.sec - 1000]) * 1000.0 for out in answered]
    return latencies, len(answered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="tiny", choices=["tiny"] + sorted(VARIANTS),
                        help="random-weight network to build when --weights is not given")
    parser.add_argument("--weights", help="weights file to use instead of random weights")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5, help="first frames left out of the lock-step timings")
    parser.add_argument("--rate", type=float, default=30.0, help="input rate of the streaming run (Hz)")
    parser.add_argument("--sizes", nargs="+", default=["640x480", "1280x720"])
    parser.add_argument("--transports", nargs="+", default=["raw", "compressed"], choices=["raw", "compressed"])
    options = parser.parse_args()

    weights = options.weights
    if weights is None:
        torch.manual_seed(0)
        config = ModelConfig.tiny() if options.config == "tiny" else VARIANTS[options.config]
        weights = os.path.join(tempfile.mkdtemp(), f"random_{options.config}.pt")
        save_checkpoint(build_model(config), weights)
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    rclpy.init()
    print(f"machine: {machine_description(options.device)}, load average {os.getloadavg()[0]:.1f}")
    print(f"model: {options.weights or 'random ' + options.config}, device {options.device}, "
          f"{options.frames} frames per run, streaming at {options.rate:g} Hz\n")
    header = (f"{'size':>9} {'input':>10} | {'tracker ms':>15} | {'node lock-step ms':>17} | {'overhead ms':>11} | "
              f"{'node @%gHz ms' % options.rate:>15} {'dropped':>8}")
    print(header + "\n" + "-" * len(header))
    pool = ThreadPoolExecutor(max_workers=1)
    for size in options.sizes:
        width, height = (int(v) for v in size.split("x"))
        sequence = generate_sequence(seed=11, num_frames=options.frames, frame_size=(height, width))
        for transport in options.transports:
            messages = [make_frame_message(frame, index, transport) for index, frame in enumerate(sequence.frames)]
            alone = TrackerAlone(weights, options.device, messages, sequence.boxes[0])
            harness = NodeHarness({"weights": weights, "device": options.device}, transport)
            try:
                harness.wait_connected(transport)
                harness.publish_raw(messages[0])
                harness.output_for(messages[0].header, timeout=30.0)
                harness.init_and_wait("0", sequence.boxes[0], messages[0].header, timeout=30.0)
                alone_ms, node_ms = (values[options.warmup:] for values in lockstep_run(harness, alone, pool,
                                                                                         messages[1:]))
                streaming, answered = streaming_run(harness, messages[1:], 10_000, options.rate)
                dropped = 1.0 - answered / (len(messages) - 1)
            finally:
                harness.close()
            overhead = statistics.median([n - a for n, a in zip(node_ms, alone_ms)])
            print(f"{size:>9} {transport:>10} | {statistics.median(alone_ms):6.1f} / {percentile(alone_ms, 90):6.1f} | "
                  f"{statistics.median(node_ms):7.1f} / {percentile(node_ms, 90):7.1f} | {overhead:11.1f} | "
                  f"{statistics.median(streaming):6.1f} / {percentile(streaming, 90):6.1f} {dropped:8.0%}")
    print("\n(median / p90 ms; overhead = median over frames of (node lock-step - tracker step), the two measured"
          " alternately)")
    rclpy.shutdown()


if __name__ == "__main__":
    main()
