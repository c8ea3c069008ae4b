"""Message types of evaluation bags: their names, the bag error, and the typestore that (de)serializes them
without rclpy.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from mixformerv2_core.errors import MixFormerV2Error

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
DETECTION_TYPE = "vision_msgs/msg/Detection2D"
DETECTION_ARRAY_TYPE = "vision_msgs/msg/Detection2DArray"
VISION_MSGS_DIR = Path(__file__).resolve().parent.parent / "interfaces" / "vision_msgs" / "msg"


class BagError(MixFormerV2Error, RuntimeError):
    """A bag cannot be opened or lacks the topics an evaluation needs."""


@lru_cache(maxsize=1)
def typestore() -> Typestore:
    """Humble's message types plus vision_msgs, registered from the field layouts shipped in this package."""
    store = get_typestore(Stores.ROS2_HUMBLE)
    types = {}
    for msg_file in sorted(VISION_MSGS_DIR.glob("*.msg")):
        types.update(get_types_from_msg(msg_file.read_text(), f"vision_msgs/msg/{msg_file.stem}"))
    store.register(types)
    return store
