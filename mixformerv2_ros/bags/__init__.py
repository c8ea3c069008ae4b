"""Evaluation rosbags: image frames plus ground-truth boxes, read and written with ``rosbags`` (no rclpy).

A bag holds ``sensor_msgs/Image`` (or ``CompressedImage``) frames stamped at the sequence's frame rate and
one ``vision_msgs/Detection2D`` per frame with the ground-truth box (centre + size; a frame without a box
has a zero-size box whose one result says why: :data:`GT_STATES`). One module per job: :mod:`.types`
(type names, typestore), :mod:`.messages` (building and decoding messages), :mod:`.writer`,
:mod:`.reader` and :mod:`.recovery` (reading damaged or cut-off files).
"""
from __future__ import annotations

from .messages import (GT_STATES, compressed_message, decode_image, detection_box, detection_message,
                       detection_state, header_message, image_message)
from .reader import BagFrame, BagSequence, iter_images, read_sequence_bag
from .recovery import open_reader, open_source
from .types import (COMPRESSED_TYPE, DETECTION_ARRAY_TYPE, DETECTION_TYPE, IMAGE_TYPE, VISION_MSGS_DIR, BagError,
                    typestore)
from .writer import METADATA_VERSION, OFFERED_QOS, STORAGES, TARGET_ROS_DISTRO, BagInfo, write_sequence_bag

__all__ = ["BagError", "BagFrame", "BagInfo", "BagSequence", "COMPRESSED_TYPE", "DETECTION_ARRAY_TYPE",
           "DETECTION_TYPE", "GT_STATES", "IMAGE_TYPE", "METADATA_VERSION", "OFFERED_QOS", "STORAGES",
           "TARGET_ROS_DISTRO", "VISION_MSGS_DIR", "compressed_message", "decode_image", "detection_box",
           "detection_message", "detection_state", "header_message", "image_message", "iter_images", "open_reader", "open_source",
           "read_sequence_bag", "typestore", "write_sequence_bag"]
