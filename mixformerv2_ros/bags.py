"""Evaluation rosbags: image frames plus ground-truth boxes, read and written with ``rosbags`` (no rclpy).

A bag holds ``sensor_msgs/Image`` (or ``CompressedImage``) frames stamped at the sequence's frame rate and
one ``vision_msgs/Detection2D`` per frame with the ground-truth box (centre + size; a frame without a box
has a zero-size box whose one result says why: :data:`GT_STATES`). Bags are written as rosbag2 metadata version 8, the newest that Humble's ``ros2 bag`` parses
(version 9 changed the QoS serialization Humble cannot read) and that Jazzy reads as well; storage is MCAP
by default, SQLite3 on request.

A bag that ends early or is damaged is read up to the last intact message: :class:`BagSequence` then has
``complete=False`` and ``error`` says what happened, so the caller evaluates the readable part and says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import Reader, Writer
from rosbags.rosbag2.enums import StoragePlugin
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from mixformerv2_core.errors import MixFormerV2Error

from .image_conversion import compressed_to_frame, image_to_frame

METADATA_VERSION = 8
IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
DETECTION_TYPE = "vision_msgs/msg/Detection2D"
DETECTION_ARRAY_TYPE = "vision_msgs/msg/Detection2DArray"
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
VISION_MSGS_DIR = Path(__file__).resolve().parent / "interfaces" / "vision_msgs" / "msg"

#: What ``ros2 bag play`` offers for the recorded topics: reliable, volatile, keep-last 10.
OFFERED_QOS = Qos(
    QosHistory.KEEP_LAST, 10, QosReliability.RELIABLE, QosDurability.VOLATILE, QosTime(0, 0), QosTime(0, 0),
    QosLiveliness.AUTOMATIC, QosTime(0, 0), False,
)


#: ``ros_distro`` written into the bag's metadata: the distribution whose message definitions we use.
TARGET_ROS_DISTRO = "humble"


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


def _stamp(ns: int):
    Time = typestore().types["builtin_interfaces/msg/Time"]
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def _header(ns: int, frame_id: str):
    return typestore().types["std_msgs/msg/Header"](stamp=_stamp(ns), frame_id=frame_id)


def stamp_to_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def image_message(frame: np.ndarray, stamp_ns: int, frame_id: str, color_order: str = "rgb"):
    """``sensor_msgs/Image`` of an HxWx3 uint8 frame (``rgb8`` or ``bgr8`` as the frame is ordered)."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frames must be HxWx3 uint8 arrays, got {frame.shape} {frame.dtype}")
    h, w = frame.shape[:2]
    return typestore().types[IMAGE_TYPE](
        header=_header(stamp_ns, frame_id), height=h, width=w, encoding=f"{color_order}8", is_bigendian=0,
        step=w * 3, data=np.ascontiguousarray(frame).reshape(-1),
    )


def compressed_message(frame: np.ndarray, stamp_ns: int, frame_id: str, color_order: str = "rgb",
                       fmt: str = "jpeg"):
    """``sensor_msgs/CompressedImage`` (``jpeg`` or lossless ``png``) of an HxWx3 uint8 frame."""
    bgr = frame[..., ::-1] if color_order == "rgb" else frame
    ok, buf = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", np.ascontiguousarray(bgr))
    if not ok:
        raise ValueError(f"could not encode a frame as {fmt}")
    return typestore().types[COMPRESSED_TYPE](header=_header(stamp_ns, frame_id), format=fmt, data=buf.reshape(-1))


#: Why a ground-truth message carries no box (zero size); the word is the ``class_id`` of its one result.
#: ``absent``: the target is flagged not visible (absent, fully occluded, out of view); ``unknown``: the
#: benchmark gives no annotation for this frame (GOT-10k test, TrackingNet after the first frame);
#: ``invalid``: the annotation exists but is not a box (LaSOT's ``0,0,0,0`` on a frame not flagged).
GT_STATES = ("absent", "unknown", "invalid")


def _state_result(state: str):
    t = typestore().types
    pose = t["geometry_msgs/msg/Pose"](
        position=t["geometry_msgs/msg/Point"](x=0.0, y=0.0, z=0.0),
        orientation=t["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
    )
    return t["vision_msgs/msg/ObjectHypothesisWithPose"](
        hypothesis=t["vision_msgs/msg/ObjectHypothesis"](class_id=state, score=0.0),
        pose=t["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=np.zeros(36)),
    )


def detection_message(box: np.ndarray | None, stamp_ns: int, frame_id: str, object_id: str = "",
                      state: str = "absent"):
    """``vision_msgs/Detection2D`` of an ``x, y, w, h`` box. Without a box (None / NaN / zero size) the size
    is zero and the one result's ``class_id`` says why (:data:`GT_STATES`)."""
    t = typestore().types
    results = []
    if box is None or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        cx = cy = w = h = 0.0
        if state not in GT_STATES:
            raise ValueError(f"ground-truth state must be one of {GT_STATES}, got {state!r}")
        results = [_state_result(state)]
    else:
        x, y, w, h = (float(v) for v in box)
        cx, cy = x + w / 2.0, y + h / 2.0
    bbox = t["vision_msgs/msg/BoundingBox2D"](
        center=t["vision_msgs/msg/Pose2D"](position=t["vision_msgs/msg/Point2D"](x=cx, y=cy), theta=0.0),
        size_x=w, size_y=h,
    )
    return t[DETECTION_TYPE](header=_header(stamp_ns, frame_id), results=results, bbox=bbox, id=object_id)


def detection_box(det) -> np.ndarray:
    """``x, y, w, h`` of a Detection2D; NaN for a zero-size box (no box: see :func:`detection_state`)."""
    w, h = float(det.bbox.size_x), float(det.bbox.size_y)
    if w <= 0 or h <= 0:
        return np.full(4, np.nan)
    c = det.bbox.center.position
    return np.array([c.x - w / 2.0, c.y - h / 2.0, w, h])


def detection_state(det) -> str:
    """``visible`` for a box, else the reason the message gives (:data:`GT_STATES`); a zero-size box without
    a reason (an older bag, a user's recording) reads as ``absent``."""
    if det is None:
        return "unknown"
    if det.bbox.size_x > 0 and det.bbox.size_y > 0:
        return "visible"
    reasons = [r.hypothesis.class_id for r in det.results if r.hypothesis.class_id in GT_STATES]
    return reasons[0] if reasons else "absent"


def decode_image(msg, color_order: str = "rgb") -> np.ndarray:
    """HxWx3 uint8 frame in ``color_order`` from a bag's Image or CompressedImage, decoded exactly as the
    tracking node decodes live messages (every encoding it supports)."""
    frame = compressed_to_frame(msg, color_order) if hasattr(msg, "format") else image_to_frame(msg, color_order)
    return np.array(frame)  # own the pixels: the deserialized message buffer is not kept


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
    hash) next to ``offered_qos_profiles``. rosbags writes neither; the test suite reads both back."""
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


@dataclass
class BagFrame:
    stamp_ns: int
    image: np.ndarray | None
    frame_id: str


@dataclass
class BagSequence:
    """Frames of a bag in time order, the ground truth matched to them by header stamp, and read status."""

    frames: list[BagFrame]
    boxes: np.ndarray | None  # (N, 4) aligned with frames; NaN rows where absent or missing
    image_topic: str
    gt_topic: str | None
    complete: bool = True
    error: str | None = None
    expected_frames: int | None = None
    custom_data: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    gt_states: list[str] | None = None  # per frame: "visible" or a GT_STATES reason (None without ground truth)

    @property
    def stamps_ns(self) -> np.ndarray:
        return np.array([f.stamp_ns for f in self.frames], dtype=np.int64)

    @property
    def visible(self) -> np.ndarray | None:
        """False where the ground truth flags the target absent (the visibility the LaSOT rules use)."""
        return None if self.gt_states is None else np.array([s != "absent" for s in self.gt_states], dtype=bool)


def _pick_topic(topics: dict[str, str], wanted: str | None, types: tuple[str, ...], what: str) -> str | None:
    if wanted is not None:
        if wanted not in topics:
            raise BagError(f"topic {wanted} is not in the bag; it has: {', '.join(sorted(topics)) or 'none'}")
        if topics[wanted] not in types:
            raise BagError(f"topic {wanted} has type {topics[wanted]}, expected one of {', '.join(types)}")
        return wanted
    matches = sorted(t for t, ty in topics.items() if ty in types)
    if len(matches) > 1:
        raise BagError(f"several {what} topics in the bag ({', '.join(matches)}); choose one")
    return matches[0] if matches else None


def open_reader(path: str | Path, notes: list[str] | None = None) -> Reader:
    """Open a bag directory, or its storage file directly when ``metadata.yaml`` is missing.

    ``ros2 bag record`` writes ``metadata.yaml`` only when it stops cleanly; a crashed recording still has
    its ``.mcap`` / ``.db3`` file, which is read on its own (the note says so).
    """
    path = Path(path)
    if not path.exists():
        raise BagError(f"bag not found: {path}")
    target = path
    if path.is_dir() and not (path / "metadata.yaml").exists():
        files = sorted(list(path.glob("*.mcap")) + list(path.glob("*.db3")))
        if len(files) != 1:
            raise BagError(f"{path} has no metadata.yaml and {len(files)} storage files; "
                           f"run 'ros2 bag reindex {path}' first")
        target = files[0]
        if notes is not None:
            notes.append(f"{path} has no metadata.yaml (recording not closed cleanly); read {target.name} directly")
    try:
        reader = Reader(target)
        reader.open()
    except Exception as exc:  # rosbags raises several types for damaged files
        raise BagError(f"cannot open bag {path}: {type(exc).__name__}: {exc}") from exc
    return reader



class _RosbagsSource:
    """Messages of an intact bag (directory with metadata, or one storage file) through rosbags."""

    def __init__(self, reader: Reader):
        self.reader = reader
        self.topics = {c.topic: c.msgtype for c in reader.connections}
        self.custom_data = dict(getattr(getattr(reader.storage, "metadata", None), "custom", None) or {})

    def expected(self, topic: str) -> int | None:
        return sum(c.msgcount for c in self.reader.connections if c.topic == topic) or None

    def messages(self, topics: list[str], status: dict) -> Iterator[tuple[str, str, bytes]]:
        it = self.reader.messages(connections=[c for c in self.reader.connections if c.topic in topics])
        while True:
            try:
                conn, _, raw = next(it)
            except StopIteration:
                return
            except Exception as exc:  # truncated chunk, malformed database page, bad record
                status["error"] = f"read stopped: {type(exc).__name__}: {exc}"
                return
            yield conn.topic, conn.msgtype, raw

    def close(self) -> None:
        self.reader.close()


class _McapStreamSource:
    """Messages of an MCAP file without its summary (a recording that was cut off), read front to back."""

    def __init__(self, path: Path, metadata: dict | None = None):
        self.path = path
        metadata = metadata or {}
        self.custom_data: dict[str, str] = dict(metadata.get("custom_data") or {})
        self._counts = {t["topic_metadata"]["name"]: int(t["message_count"])
                        for t in metadata.get("topics_with_message_count") or []}
        self.topics = {topic: msgtype for topic, msgtype, _ in self._records({}, channels_only=True)}

    def expected(self, topic: str) -> int | None:
        """From an intact ``metadata.yaml`` next to the cut file, else unknown."""
        return self._counts.get(topic) or None

    def _records(self, status: dict, channels_only: bool = False) -> Iterator[tuple[str, str, bytes]]:
        from mcap.records import Channel, Message, Schema
        from mcap.stream_reader import StreamReader

        schemas: dict[int, str] = {}
        channels: dict[int, tuple[str, str]] = {}
        with open(self.path, "rb") as stream:
            records = StreamReader(stream, skip_magic=False, emit_chunks=False).records
            while True:
                try:
                    rec = next(records)
                except StopIteration:
                    return
                except Exception as exc:
                    status["error"] = f"{self.path.name} ends in a damaged or cut-off record ({type(exc).__name__})"
                    return
                if isinstance(rec, Schema):
                    schemas[rec.id] = rec.name
                elif isinstance(rec, Channel):
                    channels[rec.id] = (rec.topic, schemas.get(rec.schema_id, ""))
                    if channels_only:
                        yield rec.topic, channels[rec.id][1], b""
                elif isinstance(rec, Message) and not channels_only and rec.channel_id in channels:
                    topic, msgtype = channels[rec.channel_id]
                    yield topic, msgtype, rec.data

    def messages(self, topics: list[str], status: dict) -> Iterator[tuple[str, str, bytes]]:
        for topic, msgtype, raw in self._records(status):
            if topic in topics:
                yield topic, msgtype, raw

    def close(self) -> None:
        pass


def _intact_metadata(path: Path) -> dict | None:
    """``rosbag2_bagfile_information`` of a bag directory's ``metadata.yaml``, if it is there and parses."""
    meta = path / "metadata.yaml" if path.is_dir() else None
    if meta is None or not meta.exists():
        return None
    from ruamel.yaml import YAML

    try:
        info = YAML(typ="safe").load(meta.read_text()).get("rosbag2_bagfile_information")
    except Exception:  # a damaged metadata file only costs the frame count
        return None
    return info if isinstance(info, dict) else None


def _open_source(path: Path, notes: list[str]):
    try:
        return _RosbagsSource(open_reader(path, notes))
    except BagError as exc:
        candidates = sorted(path.glob("*.mcap")) if path.is_dir() else [path] if path.suffix == ".mcap" else []
        if len(candidates) != 1:
            raise
        stream = _McapStreamSource(candidates[0], _intact_metadata(path))
        if not stream.topics:
            raise BagError(f"{exc}; {candidates[0].name} has no intact records at all") from exc
        notes.append(f"{exc}; reading the intact records of {candidates[0].name} from the start")
        return stream


def read_sequence_bag(
    path: str | Path,
    image_topic: str | None = None,
    gt_topic: str | None = None,
    color_order: str = "rgb",
    decode_images: bool = True,
) -> BagSequence:
    """Read every frame and the matching ground-truth boxes of a bag written by us or recorded by a user.

    Topics are found by type when not named. Ground truth is matched to frames by header stamp; a
    Detection2DArray uses its first detection. Frames without ground truth get NaN rows. A damaged or
    cut-off bag yields its readable frames with ``complete=False`` and the reason in ``error``.
    ``decode_images=False`` keeps only stamps and frame ids (``image`` is None): long recordings do not fit
    in memory decoded; stream them with :func:`iter_images` instead.
    """
    path = Path(path)
    notes: list[str] = []
    source = _open_source(path, notes)
    try:
        img_topic = _pick_topic(source.topics, image_topic, (IMAGE_TYPE, COMPRESSED_TYPE), "image")
        if img_topic is None:
            raise BagError(f"no sensor_msgs/Image or CompressedImage topic in {path}")
        det_topic = _pick_topic(source.topics, gt_topic, (DETECTION_TYPE, DETECTION_ARRAY_TYPE), "ground-truth")
        expected = source.expected(img_topic)
        status: dict = {}
        frames: list[BagFrame] = []
        gt_by_stamp: dict[int, np.ndarray] = {}
        state_by_stamp: dict[int, str] = {}
        for topic, msgtype, raw in source.messages([img_topic] + ([det_topic] if det_topic else []), status):
            try:
                msg = typestore().deserialize_cdr(raw, msgtype)
                if topic == img_topic:
                    image = decode_image(msg, color_order) if decode_images else None
            except Exception as exc:
                status["error"] = f"undecodable {msgtype} message after frame {len(frames)}: {exc}"
                break
            stamp = stamp_to_ns(msg.header.stamp)
            if topic == img_topic:
                frames.append(BagFrame(stamp, image, msg.header.frame_id))
            else:
                det = msg if msgtype == DETECTION_TYPE else (msg.detections[0] if msg.detections else None)
                gt_by_stamp[stamp] = detection_box(det) if det is not None else np.full(4, np.nan)
                state_by_stamp[stamp] = detection_state(det)
        if "error" in status and det_topic and gt_by_stamp:
            # A cut-off tail can hold an image whose ground truth was never written: drop such frames.
            last_gt = max(gt_by_stamp)
            frames = [f for f in frames if f.stamp_ns <= last_gt]
        boxes = states = None
        if det_topic:
            boxes = np.array([gt_by_stamp.get(f.stamp_ns, np.full(4, np.nan)) for f in frames]).reshape(-1, 4)
            states = [state_by_stamp.get(f.stamp_ns, "unknown") for f in frames]
        if "error" not in status and expected and len(frames) < expected:
            status["error"] = f"metadata lists {expected} frames but only {len(frames)} could be read"
        problems = notes + ([status["error"]] if "error" in status else [])
        return BagSequence(
            frames, boxes, img_topic, det_topic, complete=not problems, error="; ".join(problems) or None,
            expected_frames=expected, custom_data=source.custom_data, path=path, gt_states=states,
        )
    finally:
        source.close()


def iter_images(path: str | Path, image_topic: str, color_order: str = "rgb") -> Iterator[np.ndarray]:
    """Decoded frames of ``image_topic`` in bag order, one at a time; stops where the bag is damaged."""
    path = Path(path)
    source = _open_source(path, [])
    try:
        for index, (_, msgtype, raw) in enumerate(source.messages([image_topic], {})):
            try:
                image = decode_image(typestore().deserialize_cdr(raw, msgtype), color_order)
            except Exception as exc:
                raise BagError(f"frame {index} of {path} cannot be decoded: {exc}") from exc
            yield image
    finally:
        source.close()
