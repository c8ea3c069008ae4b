"""A real TrackingNode plus a client node (frame/init publishers, output recorders) in one process.

Used by the ROS tests (test/ros); everything goes over real DDS topics. Camera and node in separate processes are
tested in test/system.
"""
from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Callable, Optional

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2D, Detection2DArray

from mixformerv2_ros.detection_messages import detection_from_box
from mixformerv2_ros.executors import ResilientMultiThreadedExecutor, favour_executor_threads
from mixformerv2_ros.image_conversion import frame_to_compressed, frame_to_image
from mixformerv2_ros.tracking_node import NODE_NAME, TrackingNode

_namespaces = itertools.count()


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, period: float = 0.01) -> Any:
    """Polls ``condition`` until it is truthy; returns its value or raises AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(period)
    raise AssertionError(f"condition not met within {timeout} s")


def stamped_header(index: int, frame_id: str = "camera_optical"):
    from std_msgs.msg import Header

    header = Header()
    header.stamp.sec = 1000 + index
    header.stamp.nanosec = 123_456 + index
    header.frame_id = frame_id
    return header


def make_frame_message(frame: np.ndarray, index: int, transport: str = "raw"):
    """Image (rgb8) or JPEG CompressedImage of ``frame`` with the header of frame ``index``."""
    header = stamped_header(index)
    return frame_to_compressed(frame, header) if transport == "compressed" else frame_to_image(frame, header)


class NodeHarness:
    """One TrackingNode in its own namespace, and a client that talks to it over real DDS topics."""

    def __init__(self, parameters: dict, transport: str = "raw") -> None:
        self.namespace = f"/h{next(_namespaces)}"
        favour_executor_threads()  # as the node's own process does
        overrides = [Parameter(name, value=value) for name, value in parameters.items()]
        if transport != "raw":
            overrides.append(Parameter("image_transport", value=transport))
        self.node = TrackingNode(namespace=self.namespace, parameter_overrides=overrides)
        self.client = Node("test_client", namespace=self.namespace)
        private = f"{NODE_NAME}/"
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.image_pub = self.client.create_publisher(Image, "image", reliable)
        self.compressed_pub = self.client.create_publisher(CompressedImage, "image/compressed", reliable)
        self.init_pub = self.client.create_publisher(Detection2D, private + "init", reliable)
        self.click_pub = self.client.create_publisher(Point, "image_mouse_left", reliable)
        self.arrays: list[Detection2DArray] = []
        self.singles: list[Detection2D] = []
        self.debug_images: list[Image] = []
        self.diagnostics: list[DiagnosticArray] = []
        self.received_at: dict[int, float] = {}  # id(output array) -> time.perf_counter() at arrival
        self._lock = threading.Lock()
        self.client.create_subscription(Detection2DArray, private + "detections", self._record(self.arrays), 100)
        self.client.create_subscription(Detection2D, private + "detection", self._record(self.singles), 100)
        self.client.create_subscription(DiagnosticArray, "/diagnostics", self._record(self.diagnostics), 100)
        self.executor = ResilientMultiThreadedExecutor(num_threads=4)
        self.executor.add_node(self.node)
        self.executor.add_node(self.client)
        self._closing = False
        self._spinner = threading.Thread(target=self._spin, daemon=True)
        self._spinner.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # noqa: BLE001 - entities vanishing during close() are expected then, not before
            if not self._closing:
                raise

    def _record(self, sink: list) -> Callable:
        def callback(msg) -> None:
            with self._lock:
                self.received_at[id(msg)] = time.perf_counter()
                sink.append(msg)
        return callback

    def subscribe_debug_image(self) -> None:
        self.client.create_subscription(Image, f"{NODE_NAME}/debug_image", self._record(self.debug_images), 10)

    # -- sending ---------------------------------------------------------------------------------------
    def wait_connected(self, transport: str = "raw") -> None:
        publisher = self.compressed_pub if transport == "compressed" else self.image_pub
        wait_for(lambda: publisher.get_subscription_count() > 0 and self.init_pub.get_subscription_count() > 0)
        wait_for(lambda: self.client.count_publishers(f"{self.namespace}/{NODE_NAME}/detections") > 0)

    def publish_frame(self, frame: np.ndarray, index: int, transport: str = "raw"):
        msg = make_frame_message(frame, index, transport)
        self.publish_raw(msg)
        return msg

    def publish_raw(self, msg) -> None:
        (self.compressed_pub if isinstance(msg, CompressedImage) else self.image_pub).publish(msg)

    def publish_init(self, target_id: str, box_xywh, header) -> None:
        self.init_pub.publish(detection_from_box(header, target_id, box_xywh, 1.0, "init"))

    def output_for(self, header, timeout: float = 10.0) -> Detection2DArray:
        """Waits for the Detection2DArray of the frame with this header's stamp."""
        def find() -> Optional[Detection2DArray]:
            with self._lock:
                for msg in self.arrays:
                    if msg.header.stamp == header.stamp:
                        return msg
            return None
        return wait_for(find, timeout)

    def send_and_wait(self, frame: np.ndarray, index: int, transport: str = "raw") -> tuple[Any, Detection2DArray]:
        """Lock-step: publish a frame and wait for its output (no drops, one output per frame)."""
        msg = self.publish_frame(frame, index, transport)
        return msg, self.output_for(msg.header)

    def init_and_wait(self, target_id: str, box_xywh, header, timeout: float = 10.0) -> None:
        self.publish_init(target_id, box_xywh, header)
        wait_for(lambda: target_id in self.tracked_ids(), timeout)

    def tracked_ids(self) -> list:
        return list(self.node.last_results())

    def latest_diagnostics(self, predicate: Callable[[dict], bool] = lambda values: True,
                           timeout: float = 10.0) -> tuple[Any, dict]:
        """(status, key->value) of the newest /diagnostics status of this node that satisfies ``predicate``."""
        name = f"{NODE_NAME}: tracking"
        hardware_id = f"{self.namespace}/{NODE_NAME}"

        def find():
            with self._lock:
                for array in reversed(self.diagnostics):
                    for status in array.status:
                        if status.name == name and status.hardware_id == hardware_id:
                            values = {kv.key: kv.value for kv in status.values}
                            if predicate(values):
                                return status, values
            return None
        return wait_for(find, timeout)

    def close(self) -> None:
        self._closing = True
        self.executor.shutdown(timeout_sec=5.0)
        self._spinner.join(timeout=5.0)
        self.node.stop()
        self.node.destroy_node()
        self.client.destroy_node()
