"""Writing a sequence as a rosbag2 bag: metadata version 8, the newest that Humble's ``ros2 bag`` parses
(version 9 changed the QoS serialization Humble cannot read) and that Jazzy reads as well; storage is MCAP
by default, SQLite3 on request.
"""
from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Iterable

import numpy as np
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import Writer
from rosbags.rosbag2.enums import StoragePlugin

from .messages import compressed_message, detection_message, image_message
from .types import COMPRESSED_TYPE, DETECTION_TYPE, IMAGE_TYPE, BagError, typestore

METADATA_VERSION = 8
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}

#: What ``ros2 bag play`` offers for the recorded topics: reliable, volatile, keep-last 10.
OFFERED_QOS = Qos(
    QosHistory.KEEP_LAST, 10, QosReliability.RELIABLE, QosDurability.VOLATILE, QosTime(0, 0), QosTime(0, 0),
    QosLiveliness.AUTOMATIC, QosTime(0, 0), False,
)


#: ``ros_distro`` written into the bag's metadata: the distribution whose message definitions we use.
TARGET_ROS_DISTRO = "humble"

@dataclass
class BagInfo:
    path: Path
    frames: int
    image_topic: str
    gt_topic: str | None
    storage: str


def write_sequence_bag(
    path: str | Path,
    frames: Iterable[np.ndarray],
    boxes: np.ndarray | None,
    fps: float,
    *,
    image_topic: str = "/camera/image_raw",
    gt_topic: str = "/ground_truth",
    frame_id: str = "camera",
    storage: str = "mcap",
    compressed: str | None = None,
    color_order: str = "rgb",
    start_ns: int = 1_700_000_000_000_000_000,
    visible: np.ndarray | None = None,
    object_id: str = "",
    custom_data: dict[str, str] | None = None,
    ros_distro: str = TARGET_ROS_DISTRO,
) -> BagInfo:
    """Write a sequence as a rosbag2 directory at ``path`` (must not exist).

    Frame ``i`` is stamped ``start_ns + round(i * 1e9 / fps)`` in its header and its log time. ``boxes`` are
    ``x, y, w, h`` rows (NaN = absent); frames flagged not ``visible`` get an absent box too, frames after the
    last row an ``unknown`` one, and with ``visible`` given an unflagged row that is no box an ``invalid`` one.
    ``compressed`` is ``None`` (raw Image), ``"jpeg"`` or ``"png"``. The metadata names ``ros_distro`` (not
    the writing library), and MCAP channels carry ``topic_type_hash`` as ``ros2 bag record`` writes them.
    """
    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {storage!r}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    store = typestore()
    path = Path(path)
    if path.exists():
        raise BagError(f"{path} exists already; rosbag2 bags are never overwritten")
    count = 0
    with Writer(path, version=METADATA_VERSION, storage_plugin=STORAGES[storage]) as writer:
        _write_like_rosbag2(writer, ros_distro)
        for key, value in (custom_data or {}).items():
            writer.set_custom_data(key, str(value))
        img_type = COMPRESSED_TYPE if compressed else IMAGE_TYPE
        topic = image_topic if not compressed or image_topic.endswith("/compressed") else f"{image_topic}/compressed"
        img_conn = writer.add_connection(topic, img_type, typestore=store, offered_qos_profiles=[OFFERED_QOS])
        gt_conn = None
        if boxes is not None:
            gt_conn = writer.add_connection(gt_topic, DETECTION_TYPE, typestore=store,
                                            offered_qos_profiles=[OFFERED_QOS])
        for i, frame in enumerate(frames):
            ns = start_ns + int(round(i * 1e9 / fps))
            msg = (compressed_message(frame, ns, frame_id, color_order, compressed) if compressed
                   else image_message(frame, ns, frame_id, color_order))
            writer.write(img_conn, ns, store.serialize_cdr(msg, img_type))
            if gt_conn is not None:
                box, state = (boxes[i], "absent") if i < len(boxes) else (None, "unknown")
                if visible is not None and i < len(visible):
                    box, state = (box, "invalid") if visible[i] else (None, "absent")
                det = detection_message(box, ns, frame_id, object_id, state)
                writer.write(gt_conn, ns, store.serialize_cdr(det, DETECTION_TYPE))
            count += 1
    meta = path / "metadata.yaml"
    meta.write_text(meta.read_text().replace("ros_distro: rosbags", f"ros_distro: {ros_distro}"))
    return BagInfo(path, count, topic, gt_topic if boxes is not None else None, storage)


def _write_like_rosbag2(writer: Writer, ros_distro: str) -> None:
    """Make an open rosbags writer write what rosbag2 itself writes: the target ``ros_distro`` in the
    metadata embedded in the storage file, and (MCAP) each channel's ``topic_type_hash`` (its RIHS01 type
    hash) next to ``offered_qos_profiles``. rosbags writes neither; the test suite reads both back.
    """
    from rosbags.rosbag2.storage_mcap import Channel, McapWriter, write_channel, write_string

    storage = writer.storage
    close = storage.close

    def close_with_distro(version: int, metadata: str) -> None:
        close(version, metadata.replace("ros_distro: rosbags", f"ros_distro: {ros_distro}"))

    storage.close = close_with_distro
    if not isinstance(storage, McapWriter):
        return

    def add_connection(connection, offered_qos_profiles: str) -> None:
        metadata = BytesIO()
        for text in ("offered_qos_profiles", offered_qos_profiles, "topic_type_hash", connection.digest):
            write_string(metadata, text)
        channel = Channel(connection.id, connection.msgtype, connection.topic, connection.ext.serialization_format,
                          metadata.getvalue())
        storage.channels.append(channel)
        storage.channel_stats[connection.id] = 0
        write_channel(storage.chunk.bio, channel, storage.schemas)

    storage.add_connection = add_connection
