"""The main job end to end, through the ROS node: camera process -> tracking node process -> this recorder.

Starts ``mixformerv2-tracking-node`` on the built-in demo weights and ``mixformerv2-camera`` (a generated scene
at a fixed rate, with its ground truth), initialises the target over ``/mixformerv2_tracker/init`` with the
scene's first box, records the node's detections and debug image, then prints frames sent/answered, latency
and IoU, and writes an annotated video, a contact sheet and the raw records. Every process it starts runs in
its own process group and is stopped on exit, error, Ctrl-C or SIGTERM. Run by ``scripts/demo.sh``.

    python -m mixformerv2_ros.demo [--frames 150] [--rate 30] [--seed 1] [--out out/demo]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from mixformerv2_core.cli.runner import run_command
from mixformerv2_core.errors import MixFormerV2Error

PROG = "mixformerv2-demo"
NODE_NAME = "mixformerv2_tracker"
CAMERA_NAMESPACE = "/demo_camera"
IMAGE_TOPIC = f"{CAMERA_NAMESPACE}/image"
TARGET_ID = "target"
NICENESS = 5  # added to this driver (and so to the camera it starts after the node)
WARM_UP_ANSWERS = 5  # frames the node tracks after the warm-up init before the counted init
MAX_DEBUG_FRAMES = 600  # at most 20 s at 30 Hz of the node's debug image is kept for its video


class DemoError(MixFormerV2Error):
    """A demo process did not do its part (the message names the log to read)."""


@dataclass
class Answer:
    """One Detection2DArray of the node: the stamp it answers, when it arrived, the target's box and score."""

    stamp_ns: int
    received_ns: int
    box: Optional[tuple[float, float, float, float]]
    score: float


class ChildProcesses:
    """Processes started in their own process group; ``stop_all`` ends each group (SIGINT, then SIGKILL)."""

    def __init__(self, pid_file: Path) -> None:
        self.children: list[subprocess.Popen] = []
        self.pid_file = pid_file

    def start(self, command: Sequence[str], log: Path) -> subprocess.Popen:
        handle = open(log, "w", encoding="utf-8")
        child = subprocess.Popen(list(command), stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, preexec_fn=_die_with_parent)
        handle.close()
        self.children.append(child)
        self.pid_file.write_text("".join(f"{c.pid}\n" for c in self.children))
        return child

    def stop(self, child: subprocess.Popen, grace: float = 8.0) -> None:
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 5.0)):
            if child.poll() is not None:
                break
            try:
                os.killpg(child.pid, sig)
            except ProcessLookupError:
                break
            try:
                child.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        try:  # anything the child left behind in its group
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stop_all(self) -> None:
        for child in reversed(self.children):
            self.stop(child)
        self.pid_file.unlink(missing_ok=True)


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if this driver dies without cleaning up (e.g. SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _console_script(name: str, module: str) -> list[str]:
    """The venv's console script next to this interpreter, else the module's main() through this interpreter."""
    script = Path(sys.executable).parent / name
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", f"import sys; from {module} import main; sys.exit(main())"]


class Recorder:
    """rclpy node in this process: publishes the init, records detections and writes debug images as they come."""

    def __init__(self, debug_video: Optional[Path]) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from vision_msgs.msg import Detection2D, Detection2DArray

        self.context = rclpy.Context()
        rclpy.init(args=[], context=self.context)
        self.node = rclpy.create_node("demo_recorder", context=self.context)
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self.init_pub = self.node.create_publisher(Detection2D, f"/{NODE_NAME}/init", reliable)
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self.node.create_subscription(Detection2DArray, f"/{NODE_NAME}/detections", self._on_detections, reliable)
        self._debug_frames: list[np.ndarray] = []
        self._debug_path = debug_video
        if debug_video is not None:
            self.node.create_subscription(Image, f"/{NODE_NAME}/debug_image", self._on_debug, 5)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spinner = threading.Thread(target=self._spin, daemon=True)
        self._spinner.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # noqa: BLE001 - the context shutting down ends the spin
            pass

    def _on_detections(self, msg) -> None:
        received = time.time_ns()
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        box, score = None, 0.0
        for detection in msg.detections:
            if detection.id == TARGET_ID:
                cx, cy = detection.bbox.center.position.x, detection.bbox.center.position.y
                w, h = detection.bbox.size_x, detection.bbox.size_y
                box = (cx - w / 2, cy - h / 2, w, h)
                score = detection.results[0].hypothesis.score if detection.results else 0.0
        with self._lock:
            self.answers.append(Answer(stamp, received, box, score))

    def _on_debug(self, msg) -> None:
        """Kept as decoded frames and encoded after the run: encoding live would compete with the node for CPU."""
        from mixformerv2_ros.image_conversion import image_to_frame

        if len(self._debug_frames) >= MAX_DEBUG_FRAMES:
            return
        try:
            self._debug_frames.append(image_to_frame(msg, "bgr"))
        except Exception as error:  # noqa: BLE001 - a bad debug frame must not stop the recording
            self.node.get_logger().warning(f"debug image not recorded: {error}")

    def wait_for_node(self, timeout: float) -> bool:
        """True once the node is active: it subscribes to the images and the init topic."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.node.count_subscribers(IMAGE_TOPIC) > 0 and self.init_pub.get_subscription_count() > 0
                    and self.node.count_publishers(f"/{NODE_NAME}/detections") > 0):
                return True
            time.sleep(0.1)
        return False

    def send_init(self, truth_file: Path, timeout: float, alive=lambda: True
                  ) -> Optional[tuple[int, int, list[float]]]:
        """Initialises the target on a frame the node already holds: the ground truth of the frame sent two frames
        ago (its image has had time to reach the node), read from the camera's ground-truth file (no topic
        discovery to wait for), re-sent on a newer frame until the node answers with a box.
        Returns (init frame stamp ns, time the init was sent ns, box) or None."""
        from std_msgs.msg import Header

        from mixformerv2_ros.detection_messages import detection_from_box

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            rows = read_ground_truth(truth_file)
            if len(rows) < 3:
                time.sleep(0.01)
                continue
            row = rows[-3]
            header = Header(frame_id="")
            header.stamp.sec, header.stamp.nanosec = divmod(row["stamp_ns"], 1_000_000_000)
            sent_ns = time.time_ns()
            self.init_pub.publish(detection_from_box(header, TARGET_ID, row["box"], 1.0, "init"))
            answer_deadline = time.monotonic() + 2.0
            while time.monotonic() < answer_deadline:
                with self._lock:
                    if any(a.box is not None and a.received_ns > sent_ns for a in self.answers):
                        return row["stamp_ns"], sent_ns, list(row["box"])
                time.sleep(0.01)
        return None

    def wait_answers(self, after_ns: int, count: int, timeout: float) -> None:
        """Waits until the node has answered ``count`` frames with a box since ``after_ns`` (or the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if sum(1 for a in self.answers if a.box is not None and a.received_ns > after_ns) >= count:
                    return
            time.sleep(0.01)

    def close(self) -> Optional[Path]:
        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        if self.context.ok():
            self.context.shutdown()
        if self._debug_path is None:
            return None
        if not self._debug_frames:
            return None
        from mixformerv2_core.annotated_video import H264Writer

        writer = H264Writer(self._debug_path, 30)
        for frame in self._debug_frames:
            writer.write(frame)
        writer.close()
        self._debug_frames.clear()
        return self._debug_path


def read_ground_truth(path: Path) -> list[dict]:
    """The camera's ground-truth lines; a line still being written (no newline yet) is left for later."""
    if not path.is_file():
        return []
    complete = path.read_text(encoding="utf-8").split("\n")[:-1]
    return [json.loads(line) for line in complete if line.strip()]


def summarise(truth: list[dict], answers: list[Answer], init_stamp_ns: int, init_sent_ns: int) -> dict:
    """Frames sent after the init request and how many the node answered with a box; latency (image stamp ->
    detection received), mean IoU against the ground truth and, for scale, that of the init box left in place."""
    from mixformerv2_core.geometry import box_iou

    by_stamp = {row["stamp_ns"]: row for row in truth}
    init_index = by_stamp[init_stamp_ns]["frame"] if init_stamp_ns in by_stamp else 0
    expected = {row["stamp_ns"] for row in truth if row["stamp_ns"] > init_sent_ns}
    answered = {a.stamp_ns: a for a in answers if a.stamp_ns in expected and a.box is not None}
    latencies = sorted((a.received_ns - a.stamp_ns) / 1e6 for a in answered.values())
    first_box = truth[init_index]["box"] if truth else None
    ious = [box_iou(a.box, by_stamp[s]["box"]) for s, a in answered.items()]
    static = [box_iou(first_box, by_stamp[s]["box"]) for s in answered]
    return {
        "frames_sent": len(truth),
        "init_frame": init_index,
        "frames_after_init": len(expected),  # sent after the init request went out
        "frames_answered": len(answered),
        "answered_share": len(answered) / len(expected) if expected else 0.0,
        "latency_median_ms": statistics.median(latencies) if latencies else float("nan"),
        "latency_p90_ms": float(np.percentile(latencies, 90)) if latencies else float("nan"),
        "mean_iou": float(np.mean(ious)) if ious else 0.0,
        "static_box_iou": float(np.mean(static)) if static else 0.0,
        "lost_frames": sum(1 for a in answered.values() if _lost(a.score)),
    }


def _lost(score: float) -> bool:
    from mixformerv2_core.tracker import is_lost

    return is_lost(score)


def write_video(out: Path, truth: list[dict], answers: list[Answer], seed: int, size: tuple[int, int],
                frames: int, rate: float, init_frame: int) -> Optional[Path]:
    """The scene's frames (re-rendered, identical to what the camera sent) with the node's answers drawn."""
    from mixformerv2_core.annotated_video import AnnotatedVideo, DrawnTarget
    from mixformerv2_core.synthetic import SyntheticScene

    if not truth:
        return None
    scene = SyntheticScene(seed=seed, num_frames=frames, frame_size=(size[1], size[0]))
    by_stamp = {a.stamp_ns: a for a in answers}
    arrivals = sorted(a.received_ns for a in answers)
    video = AnnotatedVideo(out / "demo.mp4", rate)
    for row in truth:
        index = row["frame"]
        answer = by_stamp.get(row["stamp_ns"])
        targets = [DrawnTarget(TARGET_ID, answer.box, answer.score)] if answer and answer.box else []
        if index < init_frame:
            rate_text = "before the init request"
        elif answer is not None and answer.box is not None:
            window = np.searchsorted(arrivals, [answer.received_ns - 1_000_000_000, answer.received_ns], side="right")
            rate_text = (f"node {int(window[1] - window[0])} FPS   "
                         f"latency {(answer.received_ns - answer.stamp_ns) / 1e6:.0f} ms")
        elif index == init_frame:
            rate_text = "init frame (ground-truth box sent to the node)"
        else:
            rate_text = "no answer from the node for this frame (dropped)"
        video.add(np.ascontiguousarray(scene.render(index % frames)[:, :, ::-1]), targets, index, rate_text, row["box"])
    return video.close()


def write_records(path: Path, truth: list[dict], answers: list[Answer]) -> None:
    """One CSV line per answer: frame, stamp, latency, box, score, ground truth."""
    by_stamp = {row["stamp_ns"]: row for row in truth}
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("frame,stamp_ns,latency_ms,x,y,w,h,score,gt_x,gt_y,gt_w,gt_h\n")
        for answer in answers:
            row = by_stamp.get(answer.stamp_ns)
            box = answer.box or (float("nan"),) * 4
            gt = row["box"] if row else (float("nan"),) * 4
            frame = row["frame"] if row else -1
            handle.write(f"{frame},{answer.stamp_ns},{(answer.received_ns - answer.stamp_ns) / 1e6:.2f},"
                         + ",".join(f"{v:.2f}" for v in (*box, answer.score, *gt)) + "\n")


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or int(width) < 64 or int(height) < 64:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT of at least 64x64, got {text!r}")
    return int(width), int(height)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Run the tracking node on a generated camera stream "
                                     "and report what came back (see scripts/demo.sh).")
    parser.add_argument("--frames", type=int, default=int(os.environ.get("DEMO_FRAMES", 150)),
                        help="frames the camera sends (default 150: the scene of mixformerv2-track --input "
                             "synthetic:1; or $DEMO_FRAMES)")
    parser.add_argument("--rate", type=float, default=30.0, help="camera frame rate in Hz (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="generated scene (default 1)")
    parser.add_argument("--size", type=_size, default=(640, 480), help="frame size WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--weights", default=None, help="weights for the node (default: the built-in demo model)")
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default out/demo)")
    parser.add_argument("--no-debug-image", action="store_true",
                        help="do not subscribe to the node's ~/debug_image (the node then draws nothing)")
    parser.add_argument("--startup-timeout", type=float, default=120.0,
                        help="seconds to wait for the node to load its model and subscribe (default 120)")
    return parser


def run(args: argparse.Namespace) -> int:
    from mixformerv2_core.demo_model import DEMO_WEIGHTS

    if args.frames < 10:
        raise DemoError(f"--frames must be at least 10, got {args.frames}")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("ground_truth.jsonl", "demo.mp4", "demo.png", "debug_image.mp4", "detections.csv"):
        (out / stale).unlink(missing_ok=True)
    weights = str(args.weights or DEMO_WEIGHTS)
    children = ChildProcesses(out / "pids")
    recorder: Optional[Recorder] = None
    truth_file = out / "ground_truth.jsonl"
    try:
        say(f"starting the tracking node ({NODE_NAME}) with {weights}; log: {out / 'node.log'}")
        node = children.start(_console_script("mixformerv2-tracking-node", "mixformerv2_ros.tracking_node") + [
            "--ros-args", "-p", f"weights:={weights}", "-p", "debug_image_scale:=0.5", "-p", "qos_reliability:=reliable", "-p", "backend_threads:=1", "-r", f"image:={IMAGE_TOPIC}"],
            out / "node.log")
        # The node is what is measured: the camera and this recorder yield the CPU to it on a busy machine.
        os.nice(NICENESS)
        recorder = Recorder(None if args.no_debug_image else out / "debug_image.mp4")
        if not recorder.wait_for_node(args.startup_timeout):
            raise DemoError(f"the node did not become active within {args.startup_timeout:.0f} s"
                               + (f" (it exited with code {node.returncode})" if node.poll() is not None else "")
                               + f"; see {out / 'node.log'}")
        say(f"node active; starting the camera: synthetic:{args.seed}, {args.size[0]}x{args.size[1]}, "
            f"{args.frames} frames at {args.rate:g} Hz, in its own process; log: {out / 'camera.log'}")
        camera = children.start(_console_script("mixformerv2-camera", "mixformerv2_ros.camera_publisher") + [
            "--source", f"synthetic:{args.seed}", "--size", f"{args.size[0]}x{args.size[1]}", "--rate", str(args.rate),
            "--frames", str(args.frames), "--ground-truth", str(truth_file), "--wait-subscribers", "10",
            "--ros-args", "-r", f"__ns:={CAMERA_NAMESPACE}"], out / "camera.log")
        # The network's first steps are slow (allocation, kernel selection: ~0.2 s on a CPU); the node would drop the
        # frames behind them right after the start. A first init warms the node up; the second one, a few frames
        # later, is the one the figures count from.
        alive = lambda: camera.poll() is None  # noqa: E731
        warm = recorder.send_init(truth_file, timeout=60.0, alive=alive)
        if warm is not None:
            recorder.wait_answers(after_ns=warm[1], count=WARM_UP_ANSWERS, timeout=5.0)
        init = recorder.send_init(truth_file, timeout=60.0, alive=alive) if warm is not None else None
        if init is None:
            raise DemoError(f"the node did not start tracking from the init requests; see {out / 'node.log'} "
                               f"and {out / 'camera.log'}")
        init_stamp, init_sent, init_box = init
        say("target initialised over /mixformerv2_tracker/init with the ground-truth box "
            + ",".join(f"{v:.0f}" for v in init_box))
        try:
            camera.wait(timeout=args.frames / args.rate + 60)
        except subprocess.TimeoutExpired:
            raise DemoError(f"the camera did not finish its {args.frames} frames; see {out / 'camera.log'}") from None
        time.sleep(1.5)  # the answers to the last frames are still under way
    finally:
        debug_video = recorder.close() if recorder is not None else None
        children.stop_all()
    truth = read_ground_truth(truth_file)
    answers = recorder.answers
    stats = summarise(truth, answers, init_stamp, init_sent)
    write_records(out / "detections.csv", truth, answers)
    (out / "summary.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    sheet = write_video(out, truth, answers, args.seed, args.size, args.frames, args.rate, stats["init_frame"])
    print(f"frames sent: {stats['frames_sent']}; answered by the node: {stats['frames_answered']} of the "
          f"{stats['frames_after_init']} sent after the init request ({100 * stats['answered_share']:.1f} %)")
    print(f"latency (image stamp -> detection received): median {stats['latency_median_ms']:.1f} ms, "
          f"p90 {stats['latency_p90_ms']:.1f} ms")
    print(f"mean IoU against the scene's ground truth: {stats['mean_iou']:.3f} "
          f"(a box left where it started: {stats['static_box_iou']:.3f}); frames reported lost: {stats['lost_frames']}")
    print(f"outputs in {out}/: demo.mp4 (annotated, H.264), {sheet.name if sheet else 'no'} contact sheet, "
          f"{debug_video.name if debug_video else 'no'} node debug image video, detections.csv, "
          f"ground_truth.jsonl, summary.json, node.log, camera.log")
    return 0


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo like Ctrl-C: the finally blocks stop every child


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    return run_command(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
