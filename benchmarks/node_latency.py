"""Camera process -> tracking node process -> recorder process, as on a robot: delivery and latency over real DDS.

For every combination of image size (640x480, 1280x720 rgb8), transport (raw Image, JPEG CompressedImage),
camera publisher reliability (reliable as usb_cam, best effort as most sensor drivers) and node-side Fast DDS
profile (the shipped config/fastdds_large_images.xml as the launch files set it, or Fast DDS defaults), three OS
processes run:

  * camera: publishes frames at --rate (stamp = publish time), writes when it published each frame;
  * node: the tracking node's console entry (``python -m mixformerv2_ros.tracking_node``), default QoS
    (best effort, keep last 1), started fresh for each combination;
  * recorder: starts one target on the first answered frame, records when each Detection2DArray arrived and the
    node's /diagnostics frame counters.

Reported per combination: delivered (frames the node received / published), answered (arrays received /
published) and latency median / p90 (publish -> detections received, same host clock). The camera and the
recorder use Fast DDS defaults (the node's profile is the only change), so the numbers show what a node-side
setting achieves with an unmodified camera driver. A tiny random network keeps the model far below the frame
interval, so losses are transport losses (unless --config says otherwise).

    source .ros_env/setup.sh
    python benchmarks/node_latency.py [--frames 300] [--config tiny|S|B] [--device cpu|cuda] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "config" / "fastdds_large_images.xml"
NAMESPACE = "/bench"
NODE = f"{NAMESPACE}/mixformerv2_tracker"
CAMERA_TOPIC = "/bench_camera/image"
SIZES = ("640x480", "1280x720")
PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")


def percentile(values: list, share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


# -- camera process -------------------------------------------------------------------------------------------
def run_camera(args: argparse.Namespace) -> None:
    import numpy as np
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage
    from std_msgs.msg import Header

    from mixformerv2_ros.image_conversion import frame_to_compressed, frame_to_image
    from mixformerv2_ros.stamps import set_stamp_ns

    width, height = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    frames = []
    for index in range(30):  # a bright square moving over textured noise: JPEG sizes like a real scene
        frame = rng.integers(0, 120, (height, width, 3), dtype=np.uint8)
        x = 40 + 8 * index
        frame[height // 3:height // 3 + 80, x:x + 80] = (230, 40, 40)
        frames.append(frame)
    messages = [frame_to_compressed(f, Header()) if args.transport == "compressed" else frame_to_image(f, Header())
                for f in frames]
    rclpy.init()
    node = rclpy.create_node("bench_camera")
    reliability = ReliabilityPolicy.RELIABLE if args.reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
    kind = CompressedImage if args.transport == "compressed" else type(messages[0])
    topic = CAMERA_TOPIC + ("/compressed" if args.transport == "compressed" else "")
    publisher = node.create_publisher(kind, topic, QoSProfile(depth=5, reliability=reliability))
    deadline = time.monotonic() + args.wait
    while publisher.get_subscription_count() < 1 and time.monotonic() < deadline:  # the node
        time.sleep(0.05)
    time.sleep(2.0)  # the recorder sees the node's first output and starts the target on it
    sent = []
    start = time.monotonic()
    for index in range(args.frames):
        pause = start + index / args.rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        msg = messages[index % len(messages)]
        now = time.time_ns()
        set_stamp_ns(msg.header.stamp, now)
        publisher.publish(msg)
        sent.append(now)
    time.sleep(1.0)
    Path(args.out).write_text(json.dumps({"sent_ns": sent}), encoding="utf-8")
    node.destroy_node()
    rclpy.shutdown()


# -- recorder process -----------------------------------------------------------------------------------------
def run_recorder(args: argparse.Namespace) -> None:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from vision_msgs.msg import Detection2D, Detection2DArray

    from mixformerv2_ros.detection_messages import detection_from_box
    from mixformerv2_ros.stamps import stamp_to_ns

    rclpy.init()
    node = rclpy.create_node("bench_recorder")
    received: dict[int, int] = {}
    counters: dict[str, str] = {}
    first_counters: dict[str, str] = {}
    reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    init = node.create_publisher(Detection2D, f"{NODE}/init", reliable)
    started = []

    def on_array(msg: Detection2DArray) -> None:
        received[stamp_to_ns(msg.header.stamp)] = time.time_ns()
        if not started:
            init.publish(detection_from_box(msg.header, "0", (40.0, 40.0, 80.0, 80.0), 1.0, "init"))
            started.append(True)

    def on_diagnostics(msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.hardware_id == NODE:
                counters.update({kv.key: kv.value for kv in status.values if kv.key.startswith("frames_")})
                if not first_counters:
                    first_counters.update(counters)

    node.create_subscription(Detection2DArray, f"{NODE}/detections", on_array, reliable)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 100)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end and not Path(args.out + ".stop").exists():
        rclpy.spin_once(node, timeout_sec=0.05)
        if node.count_publishers(f"{NODE}/detections") and not Path(args.out + ".ready").exists():
            Path(args.out + ".ready").touch()  # the camera may start: the node's answers will reach us
    Path(args.out).write_text(json.dumps({"received_ns": received, "counters": counters,
                                                "first_counters": first_counters}), encoding="utf-8")
    node.destroy_node()
    rclpy.shutdown()


# -- orchestration --------------------------------------------------------------------------------------------
def child_environment(with_profile: bool) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for name in PROFILE_VARIABLES:
        env.pop(name, None)
    if with_profile:  # as the launch files: Fast DDS 3 (Kilted) reads the first name, 2.x (Humble, Jazzy) the second
        env.update(dict.fromkeys(PROFILE_VARIABLES, str(PROFILE)))
    return env


def start_node(args, weights: str, transport: str, with_profile: bool) -> subprocess.Popen:
    """The node as its console entry runs it; one per (profile, transport), reused for sizes and camera QoS."""
    return subprocess.Popen(
        [sys.executable, "-m", "mixformerv2_ros.tracking_node", "--ros-args", "-r", f"__ns:={NAMESPACE}",
         "-r", f"image:={CAMERA_TOPIC}", "-p", f"weights:={weights}", "-p", f"device:={args.device}",
         "-p", f"image_transport:={transport}", "-p", "diagnostics_period:=0.5"]
        + (["-p", f"qos_depth:={args.qos_depth}"] if args.qos_depth else []),
        env=child_environment(with_profile), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one_combination(args, size: str, transport: str, reliability: str, with_profile: bool, work: Path) -> dict:
    """Recorder and camera against the running node; returns the row of the results table."""
    me = [sys.executable, os.path.abspath(__file__)]
    default_env = child_environment(False)
    camera_out, recorder_out = work / "camera.json", work / "recorder.json"
    ready = Path(str(recorder_out) + ".ready")
    for stale in (camera_out, recorder_out, ready, Path(str(recorder_out) + ".stop")):
        stale.unlink(missing_ok=True)
    recorder = subprocess.Popen(me + ["--role", "recorder", "--out", str(recorder_out),
                                      "--seconds", str(args.wait + args.frames / args.rate + 30)], env=default_env)
    try:
        deadline = time.monotonic() + args.wait
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        subprocess.run(me + ["--role", "camera", "--out", str(camera_out), "--size", size, "--transport", transport,
                             "--reliability", reliability, "--frames", str(args.frames), "--rate", str(args.rate),
                             "--wait", str(args.wait)], env=default_env, check=True,
                       timeout=args.wait + args.frames / args.rate + 60)
        time.sleep(1.5)  # the last diagnostics
        Path(str(recorder_out) + ".stop").touch()
        recorder.wait(timeout=60)
    finally:
        if recorder.poll() is None:
            recorder.terminate()
            recorder.wait(timeout=30)
    sent = json.loads(camera_out.read_text(encoding="utf-8"))["sent_ns"]
    recorded = json.loads(recorder_out.read_text(encoding="utf-8"))
    arrived = {int(stamp): at for stamp, at in recorded["received_ns"].items()}
    latencies = [(arrived[stamp] - stamp) / 1e6 for stamp in sent if stamp in arrived]

    def counted(key: str) -> int:  # this run's part of the node's running totals
        return int(recorded["counters"].get(key, 0)) - int(recorded["first_counters"].get(key, 0))

    return {
        "size": size, "transport": transport, "camera_qos": reliability,
        "node_profile": "shipped" if with_profile else "Fast DDS default",
        "published": len(sent), "delivered": counted("frames_received"), "dropped_busy": counted("frames_dropped"),
        "answered": len(latencies),
        "latency_median_ms": statistics.median(latencies) if latencies else None,
        "latency_p90_ms": percentile(latencies, 0.9) if latencies else None,
        "load_average": os.getloadavg()[0],
    }


def machine() -> str:
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
        flags = next(line.split(":", 1)[1] for line in lines if line.startswith("flags")).split()
        flags = ", ".join(flag for flag in ("avx2", "avx512f", "avx512_vnni", "amx_tile") if flag in flags)
    except (OSError, StopIteration):
        model = "unknown CPU"
    return f"{model} ({flags}), {os.cpu_count()} logical cores"


def make_weights(config: str, path: Path) -> str:
    import torch

    from mixformerv2_core import VARIANTS, ModelConfig, build_model, save_checkpoint

    torch.manual_seed(0)
    save_checkpoint(build_model(ModelConfig.tiny() if config == "tiny" else VARIANTS[config]), path)
    return str(path)


def check_up_front(args: argparse.Namespace) -> None:
    """A wrong --json, --device or --weights ends the run here: the node would only log it to a discarded
    stream, and every combination would wait --wait seconds for answers that never come.
    """
    from mixformerv2_core import read_checkpoint
    from mixformerv2_core.backends.torch_backend import resolve_device
    from mixformerv2_core.cli.runner import writable_file
    from mixformerv2_core.errors import InputError

    if args.json:
        writable_file(args.json)
    try:
        resolve_device(args.device)
    except RuntimeError as error:  # torch's words for an unknown or absent device
        raise InputError(f"--device {args.device}: {error}") from None
    if args.weights:
        read_checkpoint(args.weights)


def orchestrate(args: argparse.Namespace) -> None:
    check_up_front(args)  # before any ROS process starts
    rows = []
    print(f"machine: {machine()}; ROS_DOMAIN_ID={os.environ.get('ROS_DOMAIN_ID')}, "
          f"ROS_AUTOMATIC_DISCOVERY_RANGE={os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE', '(unset)')}")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        weights = args.weights or make_weights(args.config, work / f"{args.config}.pt")
        for with_profile in (True, False):
            for transport in args.transports:
                node = start_node(args, weights, transport, with_profile)
                try:
                    for size in args.sizes:
                        for reliability in ("reliable", "best_effort"):
                            row = one_combination(args, size, transport, reliability, with_profile, work)
                            rows.append(row)
                            print(format_row(row), flush=True)
                finally:
                    node.terminate()
                    node.wait(timeout=30)
    print("\n| node profile | size | transport | camera QoS | delivered | answered | busy-dropped | "
          "latency median / p90 ms | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(format_row(row))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1), encoding="utf-8")


def format_row(row: dict) -> str:
    share = lambda count: f"{count}/{row['published']} ({100.0 * count / max(row['published'], 1):.1f} %)"  # noqa
    latency = ("-" if row["latency_median_ms"] is None
               else f"{row['latency_median_ms']:.1f} / {row['latency_p90_ms']:.1f}")
    return (f"| {row['node_profile']} | {row['size']} | {row['transport']} | {row['camera_qos']} | "
            f"{share(row['delivered'])} | {share(row['answered'])} | {row['dropped_busy']} | {latency} | "
            f"{row['load_average']:.1f} |")


def main(argv=None) -> int:
    """Fails as ``node_latency.py: error: ...`` (exit 2), as the project's commands do."""
    parser = argparse.ArgumentParser(prog="node_latency.py", description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("orchestrate", "camera", "recorder"), default="orchestrate",
                        help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--transport", help=argparse.SUPPRESS)
    parser.add_argument("--reliability", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=300, help="frames per combination (default 300 = 10 s)")
    parser.add_argument("--rate", type=float, default=30.0, help="camera rate in Hz")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the node to come up")
    parser.add_argument("--config", choices=("tiny", "S", "B"), default="tiny", help="random-weight network")
    parser.add_argument("--weights", help="a real checkpoint instead of random weights")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES))
    parser.add_argument("--qos-depth", type=int, default=None, help="the node's qos_depth (default: its own)")
    parser.add_argument("--transports", nargs="+", default=["raw", "compressed"], choices=("raw", "compressed"))
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    bad_sizes = [size for size in args.sizes if not re.fullmatch(r"[1-9][0-9]*x[1-9][0-9]*", size)]
    if bad_sizes or not args.rate > 0 or args.wait < 0:  # else the camera process fails, after the node started
        parser.error(f"--sizes take WIDTHxHEIGHT (e.g. 640x480), --rate Hz > 0, --wait seconds >= 0; got sizes "
                     f"{bad_sizes or args.sizes}, rate {args.rate:g}, wait {args.wait:g}")
    from mixformerv2_core.cli.runner import run_command

    role = {"orchestrate": orchestrate, "camera": run_camera, "recorder": run_recorder}[args.role]
    return run_command(parser.prog, lambda: role(args))


if __name__ == "__main__":
    sys.exit(main())
