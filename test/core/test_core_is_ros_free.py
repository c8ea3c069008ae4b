"""The core must run on machines without ROS: no module of it imports rclpy or a message package."""
from __future__ import annotations

import ast
from pathlib import Path

import mixformerv2_core

FORBIDDEN = ("rclpy", "rosidl", "launch", "launch_ros", "rosbags", "mixformerv2_ros", "mixformerv2_training")


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_core_module_imports_ros_or_the_other_packages():
    offenders = {}
    for path in Path(mixformerv2_core.__file__).parent.rglob("*.py"):
        bad = {root for root in imported_roots(path) if root in FORBIDDEN or root.endswith("_msgs")}
        if bad:
            offenders[str(path)] = sorted(bad)
    assert not offenders, f"core modules importing ROS/training code: {offenders}"
