"""Where a bag's messages come from, intact or damaged: rosbags for an intact bag (or its lone storage file
when ``metadata.yaml`` is missing), else the intact records of a cut-off MCAP file read front to back.

Every source offers ``topics``, ``custom_data``, ``expected(topic)``, ``messages(topics, status)`` (which stops
at the first damaged record and puts the reason in ``status["error"]``) and ``close()``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from rosbags.rosbag2 import Reader

from .types import BagError


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


def open_source(path: Path, notes: list[str]) -> "_RosbagsSource | _McapStreamSource":
    """The intact bag through rosbags, else the readable start of its one MCAP file (``notes`` says so)."""
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
