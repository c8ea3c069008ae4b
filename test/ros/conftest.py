"""Shared fixtures for the ROS 2 tests: real rclpy, one isolated DDS domain per test session.

Run them in a shell where ``source .ros_env/setup.sh`` was done (see scripts/setup_ros_env.sh). Without that
environment the tests are skipped, unless ``ROS_DISTRO`` is set, in which case a missing rclpy is an error.
"""
from __future__ import annotations

import os

import pytest

# A unique domain per test session keeps parallel sessions (other helpers, CI) from seeing our topics.
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

if not os.environ.get("ROS_DISTRO"):
    pytest.importorskip("rclpy", reason="ROS 2 environment not sourced (source .ros_env/setup.sh)")
    pytest.importorskip("vision_msgs.msg", reason="vision_msgs not built (scripts/setup_ros_env.sh)")

import rclpy  # noqa: E402


@pytest.fixture(scope="session")
def ros_context():
    """One rclpy context for the whole session (init/shutdown is slow and global)."""
    rclpy.init()
    yield
    rclpy.shutdown()
