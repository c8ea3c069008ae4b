"""Soak: the tracking node under a 30 Hz camera and init/reset storms, watched for memory growth.

The node runs in its own process (``python -m mixformerv2_ros.tracking_node``) with a random-weight network;
this process is the camera (640x480 rgb8 at ``--rate`` Hz) and the storm: with every other frame an init of
one of five targets with a random box (10 px to 3000 px, partly or wholly outside the image, now and then a
NaN box, a 1 px box or a 300-byte id), and a ``~/reset`` call every ``--reset-every`` frames. The node's RSS
(/proc/<pid>/status) is sampled every ``--sample`` seconds; growth is reported from the end of the warm-up.

    source .ros_env/setup.sh
    python benchmarks/node_soak.py --minutes 30              # the issue's soak (prints a table, exit 1 on growth)
    python benchmarks/node_soak.py --minutes 3 --config S    # S architecture, random weights
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import rclpy
import torch
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tracker_speed import machine_description  # noqa: E402

from mixformerv2_core import ModelConfig, VARIANTS, build_model, save_checkpoint  # noqa: E402
from mixformerv2_core.cli.runner import run_command  # noqa: E402
from mixformerv2_core.errors import MixFormerV2Error  # noqa: E402
from mixformerv2_ros.detection_messages import detection_from_box  # noqa: E402
from mixformerv2_ros.image_conversion import frame_to_image  # noqa: E402
from mixformerv2_ros.tracking_node import NODE_NAME  # noqa: E402

NAMESPACE = "/soak"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def storm_box(rng: np.random.Generator, index: int) -> tuple[str, tuple[float, float, float, float]]:
    target = f"t{index % 5}"
    kind = index % 97
    if kind == 13:
        return target, (10.0, 10.0, float("nan"), 20.0)
    if kind == 29:
        return target, (10.0, 10.0, 1.0, 1.0)
    if kind == 41:
        return "x" * 300, (10.0, 10.0, 40.0, 40.0)
    size = float(rng.choice([10.0, 40.0, 120.0, 400.0, 3000.0]))
    return target, (float(rng.uniform(-400, 700)), float(rng.uniform(-300, 500)), size, size * 0.75)


def main(argv=None) -> int:
    """Fails as ``node_soak.py: error: ...`` (exit 2), as the project's commands do; exit 1 means RSS growth."""
    parser = argparse.ArgumentParser(prog="node_soak.py", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the baseline sample")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--reset-every", type=int, default=30, help="frames between ~/reset calls")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between RSS samples")
    parser.add_argument("--config", default="tiny", choices=["tiny", *VARIANTS])
    parser.add_argument("--limit-mb", type=float, default=50.0, help="exit 1 when RSS grows more after warm-up")
    args = parser.parse_args(argv)
    if not (args.rate > 0 and args.sample > 0 and args.reset_every >= 1):  # else it fails after the node started
        parser.error(f"--rate and --sample take values > 0, --reset-every N >= 1; got {args.rate:g}, "
                     f"{args.sample:g}, {args.reset_every}")
    return run_command(parser.prog, lambda: soak(args))


def soak(args: argparse.Namespace) -> int:
    workdir = tempfile.mkdtemp(prefix="node_soak_")
    weights = os.path.join(workdir, f"{args.config}.pt")
    torch.manual_seed(0)
    save_checkpoint(build_model(ModelConfig.tiny() if args.config == "tiny" else VARIANTS[args.config]), weights)
    node = subprocess.Popen([sys.executable, "-m", "mixformerv2_ros.tracking_node", "--ros-args",
                             "-r", f"__ns:={NAMESPACE}", "-p", f"weights:={weights}", "-p", "warn_throttle_sec:=60.0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rclpy.init()
    client = rclpy.create_node("soak_client", namespace=NAMESPACE)
    reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    images = client.create_publisher(Image, "image", reliable)
    inits = client.create_publisher(Detection2D, f"{NODE_NAME}/init", QoSProfile(depth=10))
    reset = client.create_client(Trigger, f"{NODE_NAME}/reset")
    executor = SingleThreadedExecutor()
    executor.add_node(client)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    samples: list[tuple[float, float]] = []
    try:
        deadline = time.monotonic() + 60.0
        while images.get_subscription_count() == 0 or not reset.service_is_ready():
            if node.poll() is not None or time.monotonic() > deadline:
                raise MixFormerV2Error("the tracking node did not come up")
            executor.spin_once(timeout_sec=0.1)
        start = time.monotonic()
        next_sample, index = start + args.warmup, 0
        while time.monotonic() - start < args.minutes * 60.0:
            msg = frame_to_image(frame, None, "rgb")
            msg.header.stamp = client.get_clock().now().to_msg()
            images.publish(msg)
            if index % 2:
                target, box = storm_box(rng, index)
                inits.publish(detection_from_box(msg.header, target, box, 1.0, "init"))
            if index % args.reset_every == 0:
                reset.call_async(Trigger.Request())
            index += 1
            now = time.monotonic()
            if now >= next_sample:
                samples.append((now - start, rss_mb(node.pid)))
                print(f"  {samples[-1][0]:6.0f} s: node RSS {samples[-1][1]:.1f} MB", flush=True)
                next_sample += args.sample
            executor.spin_once(timeout_sec=max(0.0, start + index / args.rate - time.monotonic()))
            if node.poll() is not None:
                raise MixFormerV2Error(f"the tracking node died (exit status {node.returncode}) after {index} frames")
        samples.append((time.monotonic() - start, rss_mb(node.pid)))
    finally:
        client.destroy_node()
        rclpy.try_shutdown()
        node.terminate()
        node.wait(timeout=10)

    print(machine_description("cpu"))
    print(f"model: random {args.config}; {index} frames at {args.rate:g} Hz over {args.minutes:g} min, init every "
          f"2nd frame, reset every {args.reset_every}; load average {os.getloadavg()[0]:.1f}")
    print("\n  time s | node RSS MB | growth since warm-up MB")
    for elapsed, rss in samples:
        print(f"  {elapsed:6.0f} | {rss:11.1f} | {rss - samples[0][1]:+8.1f}")
    growth = samples[-1][1] - samples[0][1]
    print(f"\nRSS growth after warm-up: {growth:+.1f} MB (limit {args.limit_mb:g} MB)")
    return 0 if growth < args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
