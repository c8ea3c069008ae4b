"""The pip-built ROS 2 environment is real: two nodes exchange a generated vision_msgs message over DDS."""
from __future__ import annotations

import time

from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from vision_msgs.msg import Detection2D


def test_two_nodes_exchange_detection2d(ros_context):
    talker, listener = Node("env_talker"), Node("env_listener")
    received: list[Detection2D] = []
    listener.create_subscription(Detection2D, "env_check/detection", received.append, 10)
    publisher = talker.create_publisher(Detection2D, "env_check/detection", 10)
    executor = SingleThreadedExecutor()
    executor.add_node(talker)
    executor.add_node(listener)

    sent = Detection2D()
    sent.header.frame_id = "camera"
    sent.id = "target-7"
    sent.bbox.center.position.x = 12.5
    sent.bbox.size_x = 40.0
    deadline = time.monotonic() + 10.0
    while not received and time.monotonic() < deadline:
        publisher.publish(sent)
        executor.spin_once(timeout_sec=0.05)
    executor.shutdown()
    talker.destroy_node()
    listener.destroy_node()

    assert received, "no Detection2D arrived within 10 s"
    got = received[0]
    assert (got.id, got.header.frame_id, got.bbox.center.position.x, got.bbox.size_x) == ("target-7", "camera", 12.5, 40.0)


# RIHS01 type hashes of upstream vision_msgs 4.1.1 as built by a ROS 2 install (read from generated code of
# real workspaces). Detection2DArray's hash covers every type it references, so it pins the whole tree.
UPSTREAM_TYPE_HASHES = {
    "Detection2DArray": "RIHS01_214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968",
    "BoundingBox2D": "RIHS01_008eacbb0cf8f26e83795547bed013eec3675485ef386ec056d80eaaf1c1ce2f",
}


def test_generated_vision_msgs_has_the_upstream_type_hashes():
    import json
    from pathlib import Path

    from ament_index_python.packages import get_package_share_directory

    share = Path(get_package_share_directory("vision_msgs")) / "msg"
    for name, expected in UPSTREAM_TYPE_HASHES.items():
        description = json.loads((share / f"{name}.json").read_text(encoding="utf-8"))
        hashes = {entry["type_name"]: entry["hash_string"] for entry in description["type_hashes"]}
        assert hashes[f"vision_msgs/msg/{name}"] == expected
