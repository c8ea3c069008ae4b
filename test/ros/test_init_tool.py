"""mixformerv2-init as a separate OS process against a real TrackingNode over real DDS."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mixformerv2_core.synthetic import generate_sequence
from harness import wait_for
from mixformerv2_ros.tracking_node import NODE_NAME

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sequence():
    return generate_sequence(seed=3, num_frames=4, frame_size=(240, 320))


def run_tool(*arguments: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """The tool in its own interpreter, inheriting this session's ROS domain."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "mixformerv2_ros.init_tool", *arguments], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_init_remove_and_reset_reach_the_running_node(make_harness, sequence):
    harness = make_harness()
    harness.wait_connected()
    node = f"{harness.namespace}/{NODE_NAME}"
    harness.send_and_wait(sequence.frames[0], 0)
    x, y, w, h = (float(v) for v in sequence.boxes[0])

    started = run_tool("--node", node, "--id", "person", "--box", f"{x},{y},{w},{h}")
    assert started.returncode == 0, started.stderr
    assert "sent 'person' box" in started.stdout
    wait_for(lambda: "person" in harness.tracked_ids())
    _, output = harness.send_and_wait(sequence.frames[1], 1)
    assert [detection.id for detection in output.detections] == ["person"]

    removed = run_tool("--node", node, "--remove", "person")
    assert removed.returncode == 0, removed.stderr
    wait_for(lambda: "person" not in harness.tracked_ids())

    assert run_tool("--topic", f"{node}/init", "--id", "car", "--box", "10,10,40,30").returncode == 0
    wait_for(lambda: "car" in harness.tracked_ids())
    reset = run_tool("--node", node, "--reset")
    assert reset.returncode == 0, reset.stderr
    assert harness.tracked_ids() == []


def test_nothing_listening_is_an_error_with_exit_status_2():
    result = run_tool("--node", "/nobody/here", "--id", "a", "--box", "1,2,3,4", "--timeout", "0.5")
    assert result.returncode == 2
    assert result.stderr.startswith("mixformerv2-init: error: nothing subscribes to /nobody/here/init")
    assert "Traceback" not in result.stderr
    result = run_tool("--node", "/nobody/here", "--reset", "--timeout", "0.5")
    assert result.returncode == 2 and "service /nobody/here/reset is not available" in result.stderr


@pytest.mark.parametrize("arguments, message", [
    (["--box", "1,2,0,4"], "needs a positive width and height"),
    (["--box", "1,2,3"], "expected x,y,w,h"),
    (["--box", "1,2,nan,4"], "non-finite"),
    (["--reset", "--topic", "/x/init"], "give --node, not --topic"),
    ([], "one of the arguments --box --remove --reset is required"),
])
def test_bad_arguments_are_refused_before_touching_ros(arguments, message, capsys):
    from mixformerv2_ros.init_tool import main

    with pytest.raises(SystemExit) as stop:
        main(arguments)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "mixformerv2-init: error:" in error and message in error
