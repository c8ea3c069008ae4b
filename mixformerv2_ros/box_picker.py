"""Pick a target by hand: show the image topic, drag a box, publish it as a stamped Detection2D init message.

Keys in the window: SPACE/ENTER freezes the current frame and lets you drag a box (ENTER/SPACE to accept,
c to cancel); r sends a zero-size box (removes the target); q quits. The init message carries the frozen
frame's header, so the node starts the target on exactly that frame. Needs OpenCV with GUI support
(python3-opencv on a ROS install; not opencv-python-headless).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import threading
from typing import Optional, Sequence

import cv2
import rclpy
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2D

from mixformerv2_core.cli.runner import run_command
from mixformerv2_core.errors import InputError

from .detection_messages import detection_from_box
from .image_conversion import ImageConversionError, compressed_to_frame, image_to_frame
from .ros_args import init_ros

WINDOW = "mixformerv2 box picker"
PROG = "mixformerv2-box-picker"
NO_WINDOW_HINT = "without a window, start targets with mixformerv2-init --id ID --box x,y,w,h"


def window_problem(environ=os.environ, build_information: Optional[str] = None) -> Optional[str]:
    """Why no window can open here (None if one can): checked before anything starts.

    A GUI build of OpenCV aborts the whole process when it cannot reach a display, so the display is checked
    before cv2.namedWindow is ever called.
    """
    info = cv2.getBuildInformation() if build_information is None else build_information
    gui = re.search(r"^\s*GUI:\s*(\S+)", info, re.MULTILINE)
    if gui is not None and gui.group(1).upper() == "NONE":
        return ("this OpenCV has no GUI support (opencv-python-headless?); install python3-opencv or "
                "opencv-python instead")
    if sys.platform.startswith("linux") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return "no display: DISPLAY (or WAYLAND_DISPLAY) is not set (over ssh use ssh -X, or run it on the desktop)"
    return None


def selection_to_detection(header, selection: Sequence[float], target_id: str) -> Optional[Detection2D]:
    """cv2.selectROI's (x, y, w, h) -> init message; None for an empty (cancelled) selection."""
    x, y, w, h = (float(v) for v in selection)
    if w <= 0 or h <= 0:
        return None
    return detection_from_box(header, target_id, (x, y, w, h), 1.0, "init")


class BoxPicker(Node):
    """Keeps the newest frame; the GUI loop in ``run`` shows it and publishes the chosen box."""

    def __init__(self, image_topic: str, init_topic: str, target_id: str, compressed: bool) -> None:
        super().__init__("mixformerv2_box_picker")
        self.target_id = target_id
        self._latest = None
        self._lock = threading.Lock()
        kind, topic = (CompressedImage, image_topic + "/compressed") if compressed else (Image, image_topic)
        self.create_subscription(kind, topic, self._on_image, qos_profile_sensor_data)
        self.publisher = self.create_publisher(Detection2D, init_topic, 10)
        self.get_logger().info(f"showing {topic}; init messages go to {init_topic} with id '{target_id}'")

    def _on_image(self, msg) -> None:
        with self._lock:
            self._latest = msg

    def latest(self):
        with self._lock:
            msg = self._latest
        if msg is None:
            return None, None
        try:
            convert = compressed_to_frame if isinstance(msg, CompressedImage) else image_to_frame
            return msg, convert(msg, "bgr")
        except ImageConversionError as error:
            self.get_logger().warning(str(error), throttle_duration_sec=5.0)
            return None, None

    def run(self) -> None:
        while rclpy.ok():
            msg, frame = self.latest()
            if frame is not None:
                cv2.imshow(WINDOW, frame)
            key = cv2.waitKey(30) & 0xFF
            if key == ord("q"):
                return
            if key == ord("r") and msg is not None:
                self.publisher.publish(detection_from_box(msg.header, self.target_id, (0, 0, 0, 0), 0.0, "init"))
                self.get_logger().info(f"sent remove for '{self.target_id}'")
            if key in (ord(" "), 13) and frame is not None:
                detection = selection_to_detection(msg.header, cv2.selectROI(WINDOW, frame, False), self.target_id)
                if detection is not None:
                    self.publisher.publish(detection)
                    self.get_logger().info(f"sent box for '{self.target_id}': "
                                           f"{detection.bbox.size_x:.0f}x{detection.bbox.size_y:.0f} px")


def main(args: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="/camera/image_raw", help="image topic to show")
    parser.add_argument("--init-topic", default="/mixformerv2_tracker/init", help="the tracking node's ~/init")
    parser.add_argument("--id", default="0", help="target id of the box")
    parser.add_argument("--compressed", action="store_true", help="subscribe to <image>/compressed")
    options, ros_args = parser.parse_known_args(args)
    return run_command(PROG, lambda: pick(options, ros_args))


def pick(options: argparse.Namespace, ros_args: Sequence[str]) -> int:
    """Opens the window and sends boxes until the user quits (``q``/Esc) or Ctrl-C."""
    problem = window_problem()
    if problem is None:
        try:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        except cv2.error as error:
            problem = f"cannot open a window ({error.msg.strip()})"
    if problem is not None:
        raise InputError(f"{problem}; {NO_WINDOW_HINT}")
    init_ros(ros_args)
    node = BoxPicker(options.image, options.init_topic, options.id, options.compressed)
    spinner = threading.Thread(target=rclpy.spin, args=(node,), daemon=True)
    spinner.start()
    try:
        node.run()
    except KeyboardInterrupt:
        pass
    finally:
        cv2.destroyAllWindows()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
        spinner.join(timeout=2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
