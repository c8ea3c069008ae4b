"""Reading a command's ``--ros-args`` with rclpy: a malformed argument is the user's error, not a crash."""
from __future__ import annotations

import re
from typing import Callable, Optional, Sequence, TypeVar

import rclpy
from rclpy.impl.implementation_singleton import rclpy_implementation
from rclpy.utilities import remove_ros_args

from mixformerv2_core.errors import InputError

T = TypeVar("T")
_RCL_ERRORS = tuple(getattr(rclpy_implementation, name) for name in ("RCLError", "RCLInvalidROSArgsError")
                    if hasattr(rclpy_implementation, name))


def _as_input_error(call: Callable[[], T]) -> T:
    try:
        return call()
    except _RCL_ERRORS as error:
        reason = re.sub(r",? at \S+:\d+\s*$", "", str(error).strip())  # rcl appends its own source line
        raise InputError(f"bad ROS arguments: {reason}") from None


def init_ros(args: Optional[Sequence[str]], context: Optional[rclpy.Context] = None) -> None:
    """``rclpy.init``; rcl's refusal of the arguments (e.g. a trailing ``-p``) becomes an ``InputError``."""
    _as_input_error(lambda: rclpy.init(args=None if args is None else list(args), context=context))


def without_ros_args(argv: Sequence[str]) -> list[str]:
    """``argv`` (program name first) without its ``--ros-args`` part; malformed ones raise ``InputError``."""
    return _as_input_error(lambda: remove_ros_args(list(argv)))


__all__ = ["init_ros", "without_ros_args"]
