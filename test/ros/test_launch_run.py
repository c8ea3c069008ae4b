"""The launch files under real `ros2 launch` from a colcon workspace, checked with `ros2 param` / `ros2 lifecycle`.

Needs the ROS 2 launch system and command line (launch_ros, ros2cli: ../shared/ros-cli-wheels in the test
environment, apt on a robot) and colcon; without them the module is skipped and says why.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = "mixformerv2_tracker"

try:
    import launch_ros  # noqa: F401
    MISSING = None if shutil.which("ros2") and shutil.which("colcon") else "ros2 or colcon is not on PATH"
except ImportError as error:
    MISSING = f"ROS 2 launch is not installed ({error})"
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A colcon workspace holding this package (plain build, as `colcon build` on a robot)."""
    base = tmp_path_factory.mktemp("colcon_ws")
    (base / "src").mkdir()
    (base / "src" / "mixformerv2_ros").symlink_to(ROOT)
    build = subprocess.run(["colcon", "build", "--packages-select", "mixformerv2_ros"], cwd=base,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    return base


@pytest.fixture(scope="module")
def ros2(workspace):
    """Runs ``ros2 ...`` with the workspace sourced; a daemon is up for the module (see ros-cli-wheels README)."""
    def command(*arguments: str, timeout: float = 60.0, background: bool = False):
        line = f"source {workspace}/install/local_setup.bash && exec ros2 " + " ".join(arguments)
        if background:  # own process group: SIGINT reaches launch and its children like a terminal's Ctrl-C
            return subprocess.Popen(["bash", "-c", line], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, start_new_session=True)
        return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=timeout)

    command("daemon", "start", timeout=60)
    yield command
    command("daemon", "stop", timeout=60)


def wait_for_node(ros2, name: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if name in ros2("node", "list").stdout.split():
            return
        time.sleep(1.0)
    raise AssertionError(f"{name} did not appear in `ros2 node list` within {timeout} s")


def tracking_processes(workspace: Path) -> list[int]:
    """PIDs of tracking nodes started from this workspace (cmdline names its install folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(workspace) in cmdline and "tracking_node" in cmdline and "ros2 launch" not in cmdline:
                found.append(int(entry.name))
    return found


def stop(process: subprocess.Popen, grace: float = 20.0) -> str:
    """Ctrl-C to the launch's process group; returns its output. Fails if it does not end within ``grace``."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"ros2 launch still running {grace} s after SIGINT")
    return output


def test_namespace_keeps_the_parameter_file_and_autostart_false_waits(workspace, ros2, tiny_weights):
    """namespace:=robot1 applies the S file (/** keys); autostart:=false leaves configure to a manager; the S file
    refuses weights of another variant at configure.
    """
    launch = ros2("launch", "mixformerv2_ros", "tracker_s_cpu.launch.py", "namespace:=robot1", "autostart:=false",
                  "use_sim_time:=true", f"weights:={tiny_weights}", "image_topic:=/camera/image_raw",
                  background=True)
    node = f"/robot1/{NODE}"
    try:
        wait_for_node(ros2, node)
        expected = {"variant": "String value is: S", "max_targets": "Integer value is: 4",
                    "debug_image_scale": "Double value is: 0.5", "autostart": "Boolean value is: False",
                    "use_sim_time": "Boolean value is: True", "weights": f"String value is: {tiny_weights}"}
        for name, answer in expected.items():
            assert ros2("param", "get", node, name).stdout.strip() == answer, name
        assert ros2("lifecycle", "get", node).stdout.startswith("unconfigured")
        configure = ros2("lifecycle", "set", node, "configure")
        assert "Transitioning successful" not in configure.stdout  # tiny weights are not MixFormerV2-S
        assert ros2("lifecycle", "get", node).stdout.startswith("unconfigured")
        pids = tracking_processes(workspace)
        assert len(pids) == 1
        environment = Path(f"/proc/{pids[0]}/environ").read_bytes().split(b"\0")
        assert any(item.endswith(b"/config/fastdds_large_images.xml") and b"DEFAULT_PROFILES_FILE=" in item
                   for item in environment)
    finally:
        output = stop(launch)
    assert "not the requested MixFormerV2-S" in output
    assert tracking_processes(workspace) == []


def test_autostart_activates_with_the_relative_image_topic_remapped(workspace, ros2, tiny_weights, tmp_path):
    params = tmp_path / "tiny.yaml"  # the tiny test network is no S: an own file without the variant
    params.write_text("/**:\n  ros__parameters:\n    max_targets: 2\n", encoding="utf-8")
    launch = ros2("launch", "mixformerv2_ros", "tracker_s_cpu.launch.py", "namespace:=robot2",
                  f"params_file:={params}", f"weights:={tiny_weights}", "image_topic:=cam/image", background=True)
    node = f"/robot2/{NODE}"
    try:
        wait_for_node(ros2, node)
        deadline = time.monotonic() + 120
        while not ros2("lifecycle", "get", node).stdout.startswith("active") and time.monotonic() < deadline:
            time.sleep(1.0)
        assert ros2("lifecycle", "get", node).stdout.startswith("active")
        info = ros2("node", "info", node).stdout
        assert "/robot2/cam/image: sensor_msgs/msg/Image" in info
        assert ros2("param", "get", node, "max_targets").stdout.strip() == "Integer value is: 2"
    finally:
        stop(launch)
    assert tracking_processes(workspace) == []


def test_rviz_without_rviz2_fails_before_starting_the_node(workspace, ros2, tiny_weights):
    if ros2("pkg", "prefix", "rviz2").returncode == 0:
        pytest.skip("rviz2 is installed here")
    result = ros2("launch", "mixformerv2_ros", "tracker_s_cpu.launch.py", "rviz:=true", f"weights:={tiny_weights}",
                  timeout=120)
    assert result.returncode != 0
    assert "rviz:=true but rviz2 is not installed" in result.stdout + result.stderr
    assert "process started" not in result.stdout + result.stderr
    assert tracking_processes(workspace) == []
