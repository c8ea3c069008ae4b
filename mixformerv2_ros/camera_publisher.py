"""A stand-in camera driver: publishes a generated scene (or a video / image folder) as a ROS 2 image stream.

It runs in its own process, as a real camera driver does, so whatever reaches the tracking node has crossed
the DDS transport. For generated scenes it also publishes the true box of every frame on ``ground_truth``
(``vision_msgs/Detection2D`` with the image's header) and can write it to a file, so a recorder in a third
process can score the node's answers by stamp. When the source ends it waits (at most 2 s per publisher)
until reliable subscribers hold the last messages before it exits. Used by ``scripts/demo.sh``, the system
tests and ``benchmarks/node_latency.py``.

    mixformerv2-camera --source synthetic:1 --size 640x480 --rate 30 --frames 300 --ros-args -r image:=/camera/image_raw
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
import rclpy
from rclpy.duration import Duration
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D

from mixformerv2_core.cli.runner import run_command
from mixformerv2_core.errors import InputError

from .detection_messages import detection_from_box
from .image_conversion import frame_to_compressed, frame_to_image
from .ros_args import init_ros, without_ros_args
from .stamps import stamp_to_ns

NODE_NAME = "camera"
IMAGE_TOPIC = "image"
GROUND_TRUTH_TOPIC = "ground_truth"
ACK_TIMEOUT_S = 2.0  # per publisher, once the source has ended; a signal skips the wait


@dataclass
class _Stream:
    """Frames in ``color_order`` and, for generated scenes, the box of frame i (None otherwise)."""

    frames: Iterator[np.ndarray]
    color_order: str
    box: Optional[Callable[[int], Sequence[float]]]
    length: Optional[int]


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 16 or int(height) < 16:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT of at least 16x16 (e.g. 640x480), got {text!r}")
    return int(width), int(height)


def _positive_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a frame rate in Hz, got {text!r}") from None
    if not 0.1 <= value <= 1000.0:
        raise argparse.ArgumentTypeError(f"rate must lie in [0.1, 1000] Hz, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixformerv2-camera",
        description="Publish a generated scene, a video or an image folder as a camera stream (sensor_msgs/Image "
                    "on 'image', JPEG on 'image/compressed'), paced at a fixed rate, from its own process.",
        epilog="ROS arguments go after --ros-args, e.g. --ros-args -r image:=/camera/image_raw -r __ns:=/robot1")
    parser.add_argument("--source", default="synthetic:1",
                        help="'synthetic[:SEED]' (default synthetic:1), a video file or an image folder")
    parser.add_argument("--size", type=_size, default=None,
                        help="frame size WIDTHxHEIGHT (generated scenes: default 640x480; files: resized to it)")
    parser.add_argument("--rate", type=_positive_rate, default=30.0, help="frames per second (default 30)")
    parser.add_argument("--frames", type=int, default=300,
                        help="frames to publish; 0 = until interrupted (generated scenes loop) (default 300)")
    parser.add_argument("--transport", choices=("raw", "compressed", "both"), default="raw",
                        help="raw sensor_msgs/Image, JPEG CompressedImage on image/compressed, or both")
    parser.add_argument("--reliability", choices=("reliable", "best_effort"), default="reliable",
                        help="publisher QoS reliability (usb_cam-like drivers: reliable; sensor drivers: "
                             "best_effort) (default reliable)")
    parser.add_argument("--depth", type=int, default=1, help="publisher history depth (default 1)")
    parser.add_argument("--encoding", choices=("rgb8", "bgr8"), default="rgb8", help="raw image encoding")
    parser.add_argument("--frame-id", default="camera_optical_frame", help="header.frame_id of every frame")
    parser.add_argument("--ground-truth", metavar="FILE", default=None,
                        help="write one JSON line per published frame: frame index, stamp (ns) and true box")
    parser.add_argument("--wait-subscribers", type=float, default=0.0, metavar="SECONDS",
                        help="wait up to this long for a subscriber before the first frame (default 0: start "
                             "at once, as a camera does)")
    parser.add_argument("--start-delay", type=float, default=0.0, metavar="SECONDS",
                        help="sleep this long before the first frame (lets discovery settle)")
    parser.add_argument("--quiet", action="store_true", help="print only the closing summary")
    return parser


def _open_stream(source: str, size: Optional[tuple[int, int]], frames: int) -> _Stream:
    if source == "synthetic" or source.startswith("synthetic:"):
        from mixformerv2_core.synthetic import SyntheticScene

        seed_text = source.partition(":")[2] or "0"
        if not seed_text.isdigit():
            raise ValueError(f"synthetic seed must be a whole number, got {seed_text!r}")
        width, height = size or (640, 480)
        length = frames if frames > 0 else 600
        scene = SyntheticScene(seed=int(seed_text), num_frames=length, frame_size=(height, width))

        def scene_frames() -> Iterator[np.ndarray]:
            index = 0
            while frames <= 0 or index < frames:
                yield scene.render(index % length)
                index += 1

        return _Stream(scene_frames(), "rgb", lambda i: scene.box(i % length).tolist(), length)

    import cv2
    from mixformerv2_core.frame_sources import open_source

    opened = open_source(source)

    def file_frames() -> Iterator[np.ndarray]:
        for frame in opened.frames:
            yield frame if size is None else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)

    return _Stream(file_frames(), opened.color_order, None, opened.length)


def _to_encoding(frame: np.ndarray, color_order: str, encoding: str) -> np.ndarray:
    wanted = encoding[:3]
    return frame if wanted == color_order else np.ascontiguousarray(frame[:, :, ::-1])


class CameraPublisher:
    """One rclpy node that publishes the stream at a fixed rate with absolute deadlines (no drift)."""

    def __init__(self, args: argparse.Namespace, ros_args: Sequence[str]) -> None:
        self.args = args
        self.context = rclpy.Context()
        init_ros(ros_args, self.context)
        self.node = rclpy.create_node(NODE_NAME, context=self.context)
        reliability = ReliabilityPolicy.RELIABLE if args.reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=max(1, args.depth), reliability=reliability)
        self.raw = self.node.create_publisher(Image, IMAGE_TOPIC, qos) if args.transport != "compressed" else None
        self.compressed = (self.node.create_publisher(CompressedImage, IMAGE_TOPIC + "/compressed", qos)
                           if args.transport != "raw" else None)
        self.truth = self.node.create_publisher(Detection2D, GROUND_TRUTH_TOPIC, 10)
        self.published = 0
        self.late = 0
        self.stopping = False

    def _image_publishers(self) -> list:
        return [publisher for publisher in (self.raw, self.compressed) if publisher is not None]

    def wait_for_subscribers(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            if any(publisher.get_subscription_count() > 0 for publisher in self._image_publishers()):
                return True
            time.sleep(0.05)
        return False

    def publish_frame(self, index: int, frame: np.ndarray, stream: _Stream, truth_file) -> None:
        header = self._header()
        if self.raw is not None:
            pixels = _to_encoding(frame, stream.color_order, self.args.encoding)
            self.raw.publish(frame_to_image(pixels, header, self.args.encoding[:3]))
        if self.compressed is not None:
            self.compressed.publish(frame_to_compressed(frame, header, stream.color_order))
        if stream.box is not None:
            box = [float(value) for value in stream.box(index)]
            self.truth.publish(detection_from_box(header, "ground_truth", box, 1.0, "ground_truth"))
            if truth_file is not None:
                stamp_ns = stamp_to_ns(header.stamp)
                truth_file.write(json.dumps({"frame": index, "stamp_ns": stamp_ns, "box": box}) + "\n")
                truth_file.flush()
        self.published += 1

    def _header(self) -> Header:
        header = Header()
        header.stamp = self.node.get_clock().now().to_msg()
        header.frame_id = self.args.frame_id
        return header

    def run(self, stream: _Stream) -> None:
        period = 1.0 / self.args.rate
        truth_file = open(self.args.ground_truth, "w", encoding="utf-8") if self.args.ground_truth else None
        try:
            next_frame = next(stream.frames, None)
            deadline = time.perf_counter()
            index = 0
            while next_frame is not None and not self.stopping:
                delay = deadline - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -period:
                    self.late += 1
                self.publish_frame(index, next_frame, stream, truth_file)
                index += 1
                deadline += period
                next_frame = next(stream.frames, None)  # rendered while waiting for the next deadline
        finally:
            if truth_file is not None:
                truth_file.close()

    def close(self) -> None:
        """Ends the node; when the source ran out, first waits until reliable subscribers have the last messages
        (a process that exits at once drops what is still in flight: the last frames and their ground truth).
        """
        if not self.stopping:
            for publisher in (*self._image_publishers(), self.truth):
                publisher.wait_for_all_acked(Duration(seconds=ACK_TIMEOUT_S))
        self.node.destroy_node()
        if self.context.ok():
            self.context.shutdown()


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        plain = without_ros_args(["prog", *argv])[1:]
    except InputError as error:
        parser.error(str(error))
    args = parser.parse_args(plain)
    if args.depth < 1 or args.frames < 0:
        parser.error("--depth must be at least 1 and --frames at least 0")
    ros_args = argv[argv.index("--ros-args"):] if "--ros-args" in argv else []
    return run_command(parser.prog, lambda: publish(parser.prog, args, ros_args))


def publish(prog: str, args: argparse.Namespace, ros_args: Sequence[str]) -> int:
    """Opens the source and publishes it until it ends or a signal comes; prints a summary line."""
    stream = _open_stream(args.source, args.size, args.frames)
    camera = CameraPublisher(args, ["prog", *ros_args])

    def stop(*_):
        camera.stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    started = time.perf_counter()
    try:
        if args.wait_subscribers > 0 and not camera.wait_for_subscribers(args.wait_subscribers) and not args.quiet:
            print(f"{prog}: no subscriber after {args.wait_subscribers:.1f} s; publishing anyway", flush=True)
        if args.start_delay > 0:
            time.sleep(args.start_delay)
        if not args.quiet:
            topics = ", ".join(publisher.topic_name for publisher in camera._image_publishers())
            print(f"{prog}: publishing {args.source} at {args.rate:g} Hz on {topics}", flush=True)
        started = time.perf_counter()
        camera.run(stream)
    finally:
        elapsed = time.perf_counter() - started
        print(f"{prog}: published {camera.published} frames in {elapsed:.1f} s "
              f"({camera.published / max(elapsed, 1e-9):.1f} Hz; {camera.late} late)", flush=True)
        camera.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
