"""System tests: the package as a robot runs it - built by colcon, started by `ros2 launch`, fed by a camera in
another process, driven by the `ros2` command line, its output read by a third process.

Needs the environment of scripts/setup_ros_env.sh (`ros2`, `colcon`, launch wheels); without it the tests are
not collected (the report header says why), unless ``ROS_DISTRO`` is set, in which case that is an error.
Every test gets its own ROS_DOMAIN_ID (and `ros2` daemon on it) and discovery stays on this host.
"""
from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_TOOLS = ("ros2", "colcon")
MISSING = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
if MISSING:
    if os.environ.get("ROS_DISTRO"):
        raise RuntimeError(f"ROS_DISTRO is set but {MISSING} are not on PATH: run scripts/setup_ros_env.sh")
    collect_ignore_glob = ["test_*.py"]  # noqa: F841 - read by pytest


def pytest_report_header(config):
    if MISSING:
        return f"system tests skipped: {', '.join(MISSING)} not on PATH (source .ros_env/setup.sh)"
    return None


# Domains 110-229: away from test/ros's 1-100 so that parallel sessions on this host do not meet.
_DOMAINS = itertools.count((os.getpid() * 7) % 120)


def _environment_after(script: Path, base: dict) -> dict:
    """The environment after sourcing a colcon workspace's local_setup.bash on top of ``base``."""
    output = subprocess.run(["bash", "-c", f'source "{script}" >/dev/null 2>&1 && env -0'], env=base,
                            check=True, capture_output=True).stdout
    return dict(entry.split("=", 1) for entry in output.decode().split("\0") if "=" in entry)


def _colcon_build(workspace: Path, symlink: bool) -> dict:
    """Builds this repository into ``workspace`` (src/ links to it); returns the sourced environment."""
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "mixformerv2_ros").symlink_to(ROOT, target_is_directory=True)
    command = ["colcon", "build", "--event-handlers", "console_direct-"] + (["--symlink-install"] if symlink else [])
    result = subprocess.run(command, cwd=workspace, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"colcon build failed:\n{result.stdout}\n{result.stderr}"
    return _environment_after(workspace / "install" / "local_setup.bash", dict(os.environ))


@pytest.fixture(scope="session")
def workspace_env(tmp_path_factory) -> dict:
    """A plain `colcon build` of the package (installed copies: what a robot deploys)."""
    return _colcon_build(tmp_path_factory.mktemp("colcon_ws"), symlink=False)


@pytest.fixture(scope="session")
def symlink_workspace_env(tmp_path_factory) -> dict:
    """`colcon build --symlink-install` (what a developer iterates with)."""
    return _colcon_build(tmp_path_factory.mktemp("colcon_ws_symlink"), symlink=True)


@pytest.fixture(scope="session")
def s_weights(tmp_path_factory) -> Path:
    """Random MixFormerV2-S weights: the S launch file's variant check accepts them; no download needed."""
    import torch

    from mixformerv2_core import build_model, save_checkpoint
    from mixformerv2_core.config import VARIANTS

    torch.manual_seed(0)
    return save_checkpoint(build_model(VARIANTS["S"]).eval(), tmp_path_factory.mktemp("weights") / "s_random.pt")


class RosProcesses:
    """Commands of one test in one ROS domain: long-running ones each in its own session (setsid, so a
    signal reaches the whole process group as a terminal's Ctrl-C does), output in log files.
    """

    def __init__(self, env: dict, log_dir: Path) -> None:
        self.env = dict(env, ROS_DOMAIN_ID=str(110 + next(_DOMAINS) % 120), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
                        PYTHONUNBUFFERED="1")
        self.env.pop("ROS_LOCALHOST_ONLY", None)
        self.log_dir = log_dir
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w", encoding="utf-8")
        process = subprocess.Popen([str(arg) for arg in argv], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.started[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, name: str, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            if self.started[name].poll() is not None:
                raise AssertionError(f"{name} exited ({self.started[name].returncode}) before printing {text!r}:\n"
                                     f"{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not print {text!r} within {timeout} s:\n{self.log(name)[-3000:]}")
            time.sleep(0.1)

    def ros2(self, *args, timeout: float = 60.0, check: bool = True) -> str:
        """Runs `ros2 ARGS` to completion; returns its standard output."""
        result = subprocess.run(["ros2", *map(str, args)], env=self.env, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"ros2 {' '.join(map(str, args))} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result.stdout

    def wait_until(self, predicate, what: str, timeout: float, period: float = 0.5):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(period)

    def lifecycle_state(self, node: str) -> Optional[str]:
        """`ros2 lifecycle get NODE` as a label ('active', 'inactive', ...), None while it does not answer."""
        output = self.ros2("lifecycle", "get", node, check=False, timeout=30.0).strip()
        return output.split()[0] if output and "[" in output else None

    def interrupt(self, name: str, timeout: float) -> int:
        """SIGINT to the process group of ``name`` (Ctrl-C); its exit code, or AssertionError after ``timeout``."""
        process = self.started[name]
        os.killpg(process.pid, signal.SIGINT)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{name} still running {timeout} s after SIGINT:\n{self.log(name)[-3000:]}") from None

    def close(self) -> None:
        """Ends what is still running (SIGINT, then SIGKILL to the group) and stops this domain's daemon."""
        for process in self.started.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGINT)
                    process.wait(timeout=10.0)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            try:
                os.killpg(process.pid, signal.SIGKILL)  # stragglers of an already finished leader too
            except ProcessLookupError:
                pass
            process.wait()
        subprocess.run(["ros2", "daemon", "stop"], env=self.env, capture_output=True, timeout=60)


@pytest.fixture
def ros_processes(request, tmp_path):
    """Factory: ``ros_processes(env)`` gives a RosProcesses in a fresh domain whose daemon is started
    (`ros2` commands without a daemon listen for 0.5 s only, too short on a busy machine).
    """
    created = []

    def factory(env: dict) -> RosProcesses:
        processes = RosProcesses(env, tmp_path)
        created.append(processes)
        processes.ros2("daemon", "start", timeout=60.0)
        return processes

    yield factory
    for processes in created:
        processes.close()

