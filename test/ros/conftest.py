"""Shared fixtures for the ROS 2 tests: real rclpy, one isolated DDS domain per test session.

Run them in a shell where ``source .ros_env/setup.sh`` was done (see scripts/setup_ros_env.sh). Without that
environment they are not collected (the report header says why), unless ``ROS_DISTRO`` is set, in which case
a missing rclpy is an error.
"""
from __future__ import annotations

import os

import pytest

# A unique domain per test session keeps parallel sessions (other helpers, CI) from seeing our topics.
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

try:
    import rclpy
    import vision_msgs.msg  # noqa: F401
    MISSING_ROS = None
except ImportError as error:
    if os.environ.get("ROS_DISTRO"):
        raise  # the environment claims to be ROS: a missing package is a real failure
    MISSING_ROS = f"{error} (run scripts/setup_ros_env.sh and source .ros_env/setup.sh)"
    collect_ignore_glob = ["test_*.py"]  # noqa: F841 - read by pytest


def pytest_report_header(config):
    return f"ROS 2 tests skipped: {MISSING_ROS}" if MISSING_ROS else None


import torch  # noqa: E402

from mixformerv2_core import ModelConfig, build_model, save_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def ros_context():
    """One rclpy context for the whole session (init/shutdown is slow and global)."""
    rclpy.init()
    yield
    rclpy.shutdown()


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> str:
    """A tiny random-weight checkpoint: the node's behaviour, not tracking accuracy, is under test."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_checkpoint(build_model(ModelConfig.tiny()), path)
    return str(path)


@pytest.fixture
def make_harness(ros_context, tiny_weights):
    """Factory: ``make_harness(**parameters)`` starts a TrackingNode (tiny weights unless given) + client."""
    from harness import NodeHarness

    created = []

    def factory(transport: str = "raw", **parameters):
        parameters.setdefault("weights", tiny_weights)
        parameters.setdefault("diagnostics_period", 0.2)
        harness = NodeHarness(parameters, transport)
        created.append(harness)
        return harness

    yield factory
    for harness in created:
        harness.close()
