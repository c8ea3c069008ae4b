"""The camera stand-in, run as its own process like a camera driver: frames, stamps and ground truth."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage
from vision_msgs.msg import Detection2D

from mixformerv2_core.synthetic import SyntheticScene
from mixformerv2_ros.image_conversion import compressed_to_frame


def test_camera_process_publishes_frames_and_matching_ground_truth(tmp_path):
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("camera_test_listener", namespace="/camtest", context=context)
    frames, truths = {}, {}
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=50, reliability=ReliabilityPolicy.RELIABLE)

    def on_frame(msg):
        frames[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = compressed_to_frame(msg).shape

    def on_truth(msg):
        truths[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg

    node.create_subscription(CompressedImage, "image/compressed", on_frame, qos)
    node.create_subscription(Detection2D, "ground_truth", on_truth, 50)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    truth_file = tmp_path / "truth.jsonl"
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mixformerv2_ros.camera_publisher", "--source", "synthetic:3", "--size", "320x240",
             "--frames", "20", "--rate", "40", "--transport", "both", "--depth", "50", "--wait-subscribers", "15",
             "--start-delay", "0.5", "--ground-truth", str(truth_file), "--ros-args", "-r", "__ns:=/camtest"],
            capture_output=True, text=True, timeout=60, env=dict(os.environ))
    finally:
        executor.shutdown(timeout_sec=2)
        node.destroy_node()
        context.shutdown()
    assert result.returncode == 0, result.stderr
    assert "published 20 frames" in result.stdout
    lines = [json.loads(line) for line in truth_file.read_text().splitlines()]
    scene = SyntheticScene(seed=3, num_frames=20, frame_size=(240, 320))
    assert [line["frame"] for line in lines] == list(range(20))
    assert np.allclose([line["box"] for line in lines], scene.boxes)
    stamps = [line["stamp_ns"] for line in lines]
    assert stamps == sorted(stamps) and len(set(stamps)) == 20
    assert len(frames) >= 18 and set(frames.values()) == {(240, 320, 3)}
    assert set(frames) <= set(truths)  # every frame's stamp has its ground truth with the same header


def test_camera_rejects_bad_arguments_with_one_line():
    for arguments in (["--size", "12x7"], ["--source", "synthetic:abc"], ["--rate", "0"],
                      ["--source", "/no/such/video.mp4"]):
        result = subprocess.run([sys.executable, "-m", "mixformerv2_ros.camera_publisher", *arguments],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (arguments, result.stderr)
        assert result.stderr.strip().splitlines()[-1].startswith("mixformerv2-camera: error:"), result.stderr
        assert "Traceback" not in result.stderr
