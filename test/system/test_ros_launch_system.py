"""The node as a robot runs it: colcon workspace, `ros2 launch`, camera/recorder/CLI in separate processes.

Cross-process delivery numbers over the full size/transport/QoS matrix belong to benchmarks/node_latency.py;
here a tolerant answered share, and strict checks on what the node answers: the camera's header copied,
boxes equal to the offline tracker on exactly the frames the node processed.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RECORDER = Path(__file__).resolve().parent / "recorder.py"
PACKAGE = "mixformerv2_ros"
LAUNCH_FILE = "tracker_s_cpu.launch.py"
PARAMETERS_FILE = ROOT / "config" / "tracker_s_cpu.yaml"
NODE_NAME = "mixformerv2_tracker"
CAMERA_FRAME_ID = "camera_optical_frame"  # mixformerv2-camera's default header.frame_id
TARGET = "person"
SEED = 7
FRAMES = 150  # 5 s at 30 Hz while tracking
INIT_RUN_FRAMES = 45  # the camera run before the init
# launch's own escalation: SIGINT, then SIGTERM after 5 s (sigterm_timeout), SIGKILL 5 s later.
LAUNCH_SIGTERM_TIMEOUT = 5.0
# The node answers the newest frame only; on 2 shared CPU cores the S model keeps up with a fraction of 30 Hz.
MIN_ANSWERED_SHARE = 0.05
# Frames that must reach the node (its /diagnostics frames_received) with the launch files' Fast DDS profile,
# also under ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST as these tests run. Without the profile 1-20 % arrive.
# The S model does not keep up with 30 Hz on 2 cores; its worker thread competes for the GIL and the cores with
# the executor that takes frames from the keep-last-1 reader queue. With the node's short GIL switch interval
# 91-99 % arrived here (Jazzy, 640x480 and 1280x720 raw; Python's default interval: 56-94 %, docs/ros.md).
MIN_DELIVERED_SHARE = 0.8


def _file_parameters(path: Path = PARAMETERS_FILE) -> dict:
    """The ros__parameters of a parameter file, whatever node key (`/**`, a node name) holds them."""
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    sections = [value["ros__parameters"] for value in content.values()
                if isinstance(value, dict) and "ros__parameters" in value]
    assert len(sections) == 1, f"expected one ros__parameters section in {path}"
    return sections[0]


def _params_file_with(tmp_path: Path, **changes) -> Path:
    """The shipped S parameters with ``changes``, keyed ``/**`` so that they apply under any namespace."""
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": {**_file_parameters(), **changes}}}), encoding="utf-8")
    return path


def _launch_arguments(ros) -> set:
    output = ros.ros2("launch", PACKAGE, LAUNCH_FILE, "--show-args")
    return set(re.findall(r"^\s+'([A-Za-z_][A-Za-z0-9_]*)':\s*$", output, re.MULTILINE))


def _group_and_descendants(leader: int) -> list:
    """The processes of ``leader``'s process group plus its descendants (a child may start its own group)."""
    found = {child.pid: child for child in psutil.Process(leader).children(recursive=True)}
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == leader and process.pid != leader:
                found.setdefault(process.pid, process)
        except (ProcessLookupError, psutil.Error):
            continue
    return list(found.values())


def _stop_launch_cleanly(ros) -> None:
    """Ctrl-C on the launch process group: everything ends within launch's grace period, nothing stays."""
    launch = ros.started["launch"]
    descendants = _group_and_descendants(launch.pid)
    assert any("tracking_node" in " ".join(child.cmdline()) for child in descendants), \
        f"no tracking_node among {[child.cmdline() for child in descendants]}"
    started = time.monotonic()
    ros.interrupt("launch", timeout=3 * LAUNCH_SIGTERM_TIMEOUT)
    elapsed = time.monotonic() - started
    log = ros.log("launch")
    assert "SIGTERM" not in log and "SIGKILL" not in log, f"launch had to escalate:\n{log[-3000:]}"
    assert "Traceback" not in log, f"the node did not exit cleanly on SIGINT:\n{log[-3000:]}"
    assert elapsed < LAUNCH_SIGTERM_TIMEOUT, f"{elapsed:.1f} s to stop"
    time.sleep(0.5)
    survivors = [child for child in descendants if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    assert not survivors, [child.cmdline() for child in survivors]


def _init_message(truth: dict, target: str) -> str:
    """YAML for `ros2 topic pub`: a Detection2D stamped like the camera frame, with that frame's true box."""
    x, y, w, h = truth["box"]
    sec, nanosec = divmod(truth["stamp_ns"], 1_000_000_000)
    return (f"{{header: {{stamp: {{sec: {sec}, nanosec: {nanosec}}}, frame_id: {CAMERA_FRAME_ID}}}, id: {target}, "
            f"bbox: {{center: {{position: {{x: {x + w / 2}, y: {y + h / 2}}}, theta: 0.0}}, "
            f"size_x: {w}, size_y: {h}}}}}")


def _read_json_lines(path: Path) -> list:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("}")]


def _offline_boxes(weights: Path, transport: str, size: tuple, init: dict, init_length: int, frames: list) -> list:
    """The core tracker, built from the parameter file like the node, on the same frames decoded the same way."""
    from mixformerv2_core import MultiTargetTracker
    from mixformerv2_core.synthetic import SyntheticScene
    from mixformerv2_ros.image_conversion import (compressed_to_frame, frame_to_compressed, frame_to_image,
                                                  image_to_frame)
    from mixformerv2_ros.parameters import PARAMETERS, tracker_overrides

    values = {spec.name: spec.default for spec in PARAMETERS} | _file_parameters()
    tracker = MultiTargetTracker.from_checkpoint(
        str(weights), variant=values["variant"] or None, device="cpu", backend=values["backend"],
        precision=values["precision"] or None, color_order=values["color_order"],
        **tracker_overrides(values.get))  # what the node passes: only the settings the file sets
    width, height = size

    def received(scene: SyntheticScene, index: int) -> np.ndarray:  # camera encoding -> DDS -> the node's decoding
        rgb = scene.render(index)
        if transport == "compressed":
            return compressed_to_frame(frame_to_compressed(rgb, None, "rgb"), values["color_order"])
        return image_to_frame(frame_to_image(rgb, None, "rgb"), values["color_order"])

    # The camera renders SyntheticScene(seed, its --frames, size): the init run is shorter than the tracked one.
    init_scene = SyntheticScene(seed=SEED, num_frames=init_length, frame_size=(height, width))
    scene = SyntheticScene(seed=SEED, num_frames=FRAMES, frame_size=(height, width))
    tracker.add(TARGET, received(init_scene, init["frame"]), init["box"])
    return [list(tracker.track(received(scene, index))[TARGET].box) for index in frames]


# Each size with both camera QoS (reliable as usb_cam, best effort as most drivers), each transport at both sizes.
CASES = [
    pytest.param("raw", "reliable", (640, 480), "topic-pub", id="640x480-raw-reliable-topic_pub"),
    pytest.param("compressed", "best_effort", (640, 480), "init-command", id="640x480-compressed-best_effort-init"),
    pytest.param("raw", "best_effort", (1280, 720), "init-command", id="1280x720-raw-best_effort-init"),
    pytest.param("compressed", "reliable", (1280, 720), "topic-pub", id="1280x720-compressed-reliable-topic_pub"),
]


@pytest.mark.parametrize("transport, reliability, size, init_with", CASES)
def test_launched_node_tracks_a_camera_process_like_the_offline_tracker(
        workspace_env, ros_processes, s_weights, tmp_path, transport, reliability, size, init_with):
    ros = ros_processes(workspace_env)
    node = f"/sys/{NODE_NAME}"
    # The frame buffer at its maximum: the init frame must still be there however slowly the init comes.
    params = _params_file_with(tmp_path, frame_buffer_size=300)
    ros.start("launch", ["ros2", "launch", PACKAGE, LAUNCH_FILE, f"weights:={s_weights}", "namespace:=sys",
                         f"image_transport:={transport}", "image_topic:=/sys/camera/image", f"params_file:={params}"])
    ros.wait_until(lambda: ros.lifecycle_state(node) == "active", "the node to become active", timeout=180)
    detections_file, counters_file = tmp_path / "detections.jsonl", tmp_path / "counters.json"
    ros.start("recorder", [sys.executable, RECORDER, "--topic", f"{node}/detections", "--out", detections_file,
                           "--diagnostics", counters_file])
    ros.wait_for_log("recorder", "recording", timeout=60)

    def run_camera(name: str, frames: int) -> dict:
        """A camera process publishing ``frames`` frames at 30 Hz; its ground truth by stamp."""
        truth_file = tmp_path / f"{name}.jsonl"
        camera = ros.start(name, [
            "ros2", "run", PACKAGE, "mixformerv2-camera", "--source", f"synthetic:{SEED}",
            "--size", "x".join(map(str, size)), "--rate", "30", "--frames", frames, "--transport", transport,
            "--reliability", reliability, "--ground-truth", truth_file, "--wait-subscribers", "60", "--quiet",
            "--ros-args", "-r", "__ns:=/sys/camera"])
        assert camera.wait(timeout=frames / 30 + 120) == 0, ros.log(name)
        time.sleep(1.5)  # answers to the last frames are on their way
        truth = {line["stamp_ns"]: line for line in _read_json_lines(truth_file)}
        assert len(truth) == frames, ros.log(name)
        return truth

    # A first camera run; then, as a detector would, an init on a frame the node surely received (one it
    # answered) with that frame's stamp and true box. The stream pauses meanwhile, so the frame stays in
    # the node's buffer however long the init takes on a loaded machine.
    first = run_camera("camera_before_init", INIT_RUN_FRAMES)
    answered_first = [first[record["stamp_ns"]] for record in _read_json_lines(detections_file)
                      if record["stamp_ns"] in first]
    assert answered_first, "the node answered no frame of the first camera run"
    init = answered_first[-1]
    if init_with == "topic-pub":
        ros.ros2("topic", "pub", "--once", "--keep-alive", "1.0", "-w", "1", f"{node}/init",
                 "vision_msgs/msg/Detection2D", _init_message(init, TARGET))
    else:  # the project's init command (section "Starting a target" of docs/ros.md)
        sec, nanosec = divmod(init["stamp_ns"], 1_000_000_000)
        ros.ros2("run", PACKAGE, "init", "--node", node, "--id", TARGET, "--box", ",".join(map(str, init["box"])),
                 "--stamp", f"{sec}.{nanosec:09d}", "--frame-id", CAMERA_FRAME_ID, "--timeout", "60")
    ros.wait_for_log("launch", f"tracking '{TARGET}'", timeout=60)
    init_log = [line for line in ros.log("launch").splitlines() if f"tracking '{TARGET}'" in line]
    truth = run_camera("camera", FRAMES)
    time.sleep(1.5)  # the node's diagnostics period is 1 s: the last counters
    ros.interrupt("recorder", timeout=10)
    counters = json.loads(counters_file.read_text(encoding="utf-8"))
    delivered = int(counters["frames_received"])
    assert delivered >= MIN_DELIVERED_SHARE * (INIT_RUN_FRAMES + FRAMES), \
        f"{delivered} of {INIT_RUN_FRAMES + FRAMES} camera frames reached the node: {counters}"

    records = _read_json_lines(detections_file)
    answered = {record["stamp_ns"] for record in records}
    assert len(answered) == len(records), "a frame was answered twice"
    assert answered <= set(first) | set(truth), "answers carry stamps the camera never sent"
    for record in records:  # the camera's header, copied to the array and to every detection
        assert record["frame_id"] == CAMERA_FRAME_ID
        assert all((d["stamp_ns"], d["frame_id"]) == (record["stamp_ns"], CAMERA_FRAME_ID) for d in record["detections"])
    tracked = [record for record in records if record["stamp_ns"] in truth]
    assert len(tracked) >= MIN_ANSWERED_SHARE * FRAMES, f"{len(tracked)} of {FRAMES} frames answered while tracking"
    assert all([d["id"] for d in record["detections"]] == [TARGET] for record in tracked)
    processed = [truth[record["stamp_ns"]]["frame"] for record in tracked]
    assert processed == sorted(processed), processed
    expected = _offline_boxes(s_weights, transport, size, init, INIT_RUN_FRAMES, processed)
    got = [record["detections"][0]["box"] for record in tracked]
    np.testing.assert_allclose(got, expected, atol=0.01,
                               err_msg=f"init on frame {init['frame']} {init_log}, then frames {processed}")
    _stop_launch_cleanly(ros)


def test_namespaced_launch_applies_the_parameter_file_and_follows_lifecycle(
        symlink_workspace_env, ros_processes, s_weights):
    ros = ros_processes(symlink_workspace_env)
    node = f"/robot1/{NODE_NAME}"
    arguments = _launch_arguments(ros)
    manual_start = "autostart" in arguments  # nav2 style: a lifecycle manager (here the CLI) drives it
    ros.start("launch", ["ros2", "launch", PACKAGE, LAUNCH_FILE, "namespace:=robot1", f"weights:={s_weights}"]
              + (["autostart:=false"] if manual_start else []))
    ros.wait_until(lambda: node in ros.ros2("node", "list", check=False).split(), f"{node} in `ros2 node list`",
                   timeout=120)

    # Parameters of the file apply under a namespace; launch arguments override their keys.
    file_values = _file_parameters()
    # A node in `ros2 node list` may not answer parameter requests yet (discovery of its services lags on a
    # busy machine): wait until it does, then compare.
    variant = ros.wait_until(lambda: ros.ros2("param", "get", node, "variant", check=False).strip(),
                             "the node's parameter service", timeout=60)
    assert variant == f"String value is: {file_values['variant']}"
    dumped = yaml.safe_load(ros.ros2("param", "dump", node))
    assert list(dumped) == [node]
    node_values = dumped[node]["ros__parameters"]
    differing = {key: (value, node_values.get(key)) for key, value in file_values.items()
                 if key not in arguments and node_values.get(key) != value}
    assert not differing, f"(file, node) values differ: {differing}"

    def transition(name: str, expected_state: str) -> None:
        output = ros.ros2("lifecycle", "set", node, name)
        assert "Transitioning successful" in output, output
        assert ros.lifecycle_state(node) == expected_state

    if manual_start:
        assert ros.wait_until(lambda: ros.lifecycle_state(node), "a lifecycle state", timeout=60) == "unconfigured"
        transition("configure", "inactive")
        transition("activate", "active")
    else:
        ros.wait_until(lambda: ros.lifecycle_state(node) == "active", "the node to become active", timeout=120)
    transition("deactivate", "inactive")
    transition("activate", "active")
    _stop_launch_cleanly(ros)
