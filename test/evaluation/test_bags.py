"""Evaluation bags: round trip in both storage formats, metadata other ros2 bag versions read, damage."""
import shutil

import numpy as np
import pytest
import yaml

from mixformerv2_ros import bags


def make_sequence(n=12, h=48, w=64, seed=0):
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]
    boxes = np.array([[3.5 + i, 4.0, 20.25, 10.0] for i in range(n)])
    boxes[min(4, n - 1)] = np.nan
    return frames, boxes


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_round_trip_same_frames_stamps_boxes(tmp_path, storage):
    frames, boxes = make_sequence()
    visible = np.ones(len(frames), bool)
    visible[7] = False
    info = bags.write_sequence_bag(tmp_path / "bag", frames, boxes, fps=25.0, storage=storage, frame_id="cam0",
                                   visible=visible, custom_data={"sequence": "seq-1"}, start_ns=10**18)
    assert info.frames == len(frames)
    seq = bags.read_sequence_bag(tmp_path / "bag")
    assert seq.complete and seq.error is None and seq.custom_data["sequence"] == "seq-1"
    assert len(seq.frames) == len(frames)
    for got, want in zip(seq.frames, frames):
        np.testing.assert_array_equal(got.image, want)
        assert got.frame_id == "cam0"
    np.testing.assert_array_equal(seq.stamps_ns, 10**18 + np.round(np.arange(len(frames)) * 1e9 / 25).astype(int))
    expected = boxes.copy()
    expected[7] = np.nan  # invisible frames are written as absent (zero-size) boxes
    np.testing.assert_allclose(seq.boxes, expected, equal_nan=True)
    light = bags.read_sequence_bag(tmp_path / "bag", decode_images=False)  # stamps only, frames streamed
    assert all(f.image is None for f in light.frames)
    np.testing.assert_array_equal(light.stamps_ns, seq.stamps_ns)
    for got, want in zip(bags.iter_images(tmp_path / "bag", light.image_topic), frames, strict=True):
        np.testing.assert_array_equal(got, want)


def test_metadata_is_version_8_with_string_qos(tmp_path):
    frames, boxes = make_sequence(3)
    bags.write_sequence_bag(tmp_path / "bag", frames, boxes, fps=30.0)
    meta = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    # Humble parses versions up to 8 as long as offered_qos_profiles is a YAML string (version 9 made it a
    # list, which Humble's parser rejects); Jazzy reads both.
    assert meta["version"] == 8 and meta["storage_identifier"] == "mcap"
    for topic in meta["topics_with_message_count"]:
        qos = topic["topic_metadata"]["offered_qos_profiles"]
        assert isinstance(qos, str)
        assert yaml.safe_load(qos)[0]["reliability"] == 1  # reliable
    types = {t["topic_metadata"]["name"]: t["topic_metadata"]["type"] for t in meta["topics_with_message_count"]}
    assert types == {"/camera/image_raw": "sensor_msgs/msg/Image", "/ground_truth": "vision_msgs/msg/Detection2D"}


def test_compressed_png_is_lossless_and_bgr_frames_keep_order(tmp_path):
    frames, boxes = make_sequence(4)
    bags.write_sequence_bag(tmp_path / "png", frames, boxes, fps=10, compressed="png", storage="sqlite3")
    seq = bags.read_sequence_bag(tmp_path / "png")
    assert seq.image_topic == "/camera/image_raw/compressed"
    np.testing.assert_array_equal(seq.frames[2].image, frames[2])
    bags.write_sequence_bag(tmp_path / "bgr", frames, boxes, fps=10, color_order="bgr")
    seq = bags.read_sequence_bag(tmp_path / "bgr", color_order="rgb")
    np.testing.assert_array_equal(seq.frames[1].image, frames[1][..., ::-1])


def test_jpeg_frames_decode_close_to_source(tmp_path):
    frame = np.zeros((32, 32, 3), np.uint8)
    frame[:, :16] = (200, 40, 10)
    bags.write_sequence_bag(tmp_path / "jpg", [frame] * 2, None, fps=5, compressed="jpeg")
    seq = bags.read_sequence_bag(tmp_path / "jpg")
    assert seq.boxes is None and seq.gt_topic is None
    assert np.abs(seq.frames[0].image.astype(int) - frame).mean() < 8


def test_cut_off_mcap_gives_readable_prefix_and_reason(tmp_path):
    frames, boxes = make_sequence(n=40, h=120, w=160, seed=1)  # ~2.3 MB: several 1 MiB chunks
    bags.write_sequence_bag(tmp_path / "bag", frames, boxes, fps=30)
    (mcap_file,) = (tmp_path / "bag").glob("*.mcap")
    data = mcap_file.read_bytes()
    mcap_file.write_bytes(data[: int(len(data) * 0.7)])
    seq = bags.read_sequence_bag(tmp_path / "bag")
    assert not seq.complete and "cut-off" in seq.error
    assert 0 < len(seq.frames) < len(frames)
    assert seq.expected_frames == 40  # from the intact metadata.yaml
    assert seq.custom_data == {}  # none written; the metadata's custom_data is read when there is one
    for got, want in zip(seq.frames, frames):
        np.testing.assert_array_equal(got.image, want)
    np.testing.assert_allclose(seq.boxes, boxes[: len(seq.frames)], equal_nan=True)


def test_damaged_sqlite_is_a_clear_error(tmp_path):
    frames, boxes = make_sequence()
    bags.write_sequence_bag(tmp_path / "bag", frames, boxes, fps=30, storage="sqlite3")
    (db,) = (tmp_path / "bag").glob("*.db3")
    db.write_bytes(db.read_bytes()[:1000])
    with pytest.raises(bags.BagError, match="cannot open bag"):
        bags.read_sequence_bag(tmp_path / "bag")


def test_missing_metadata_reads_storage_file_and_says_so(tmp_path):
    frames, boxes = make_sequence(5)
    bags.write_sequence_bag(tmp_path / "bag", frames, boxes, fps=30, storage="sqlite3")
    (tmp_path / "bag" / "metadata.yaml").unlink()
    seq = bags.read_sequence_bag(tmp_path / "bag")
    assert len(seq.frames) == 5 and not seq.complete and "metadata.yaml" in seq.error


def test_topic_errors(tmp_path):
    frames, boxes = make_sequence(2)
    bags.write_sequence_bag(tmp_path / "bag", frames, boxes, fps=30)
    with pytest.raises(bags.BagError, match="/nope is not in the bag"):
        bags.read_sequence_bag(tmp_path / "bag", image_topic="/nope")
    with pytest.raises(bags.BagError, match="expected one of"):
        bags.read_sequence_bag(tmp_path / "bag", image_topic="/ground_truth")
    with pytest.raises(bags.BagError, match="bag not found"):
        bags.read_sequence_bag(tmp_path / "missing")
    shutil.rmtree(tmp_path / "bag")
    with pytest.raises(ValueError, match="storage"):
        bags.write_sequence_bag(tmp_path / "bag", frames, boxes, fps=30, storage="rosbag1")


def test_bag_frames_decode_like_live_messages():
    """Encodings recorded from real cameras (mono8, bgra8, padded rows) decode as the node decodes them."""
    Image = bags.typestore().types[bags.IMAGE_TYPE]
    hdr = bags.header_message(0, "c")
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    padded = np.zeros((3, 6), np.uint8)
    padded[:, :4] = gray
    msg = Image(header=hdr, height=3, width=4, encoding="mono8", is_bigendian=0, step=6, data=padded.reshape(-1))
    np.testing.assert_array_equal(bags.decode_image(msg)[..., 1], gray)
    bgra = np.dstack([gray, gray + 1, gray + 2, np.full_like(gray, 255)])
    msg = Image(header=hdr, height=3, width=4, encoding="bgra8", is_bigendian=0, step=16, data=bgra.reshape(-1))
    np.testing.assert_array_equal(bags.decode_image(msg, "rgb"), np.dstack([gray + 2, gray + 1, gray]))
    bad = Image(header=hdr, height=1, width=1, encoding="32FC1", is_bigendian=0, step=4, data=np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="unsupported image encoding"):
        bags.decode_image(bad)


def test_metadata_names_the_target_distro_and_mcap_channels_carry_the_type_hash(tmp_path):
    from mcap.reader import make_reader

    frames, boxes = make_sequence(3)
    bags.write_sequence_bag(tmp_path / "bag", frames, boxes, fps=30, custom_data={"dataset": "lasot"})
    meta = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["ros_distro"] == bags.TARGET_ROS_DISTRO == "humble"
    hashes = {t["topic_metadata"]["name"]: t["topic_metadata"]["type_description_hash"]
              for t in meta["topics_with_message_count"]}
    (mcap_file,) = (tmp_path / "bag").glob("*.mcap")
    with open(mcap_file, "rb") as stream:
        reader = make_reader(stream)
        summary = reader.get_summary()
        channels = {c.topic: c.metadata for c in summary.channels.values()}
        embedded = [m for m in reader.iter_metadata() if m.name == "rosbag2"]
    for topic, metadata in channels.items():
        assert metadata["topic_type_hash"] == hashes[topic] and metadata["topic_type_hash"].startswith("RIHS01_")
        assert "offered_qos_profiles" in metadata
    assert "ros_distro: humble" in embedded[0].metadata["serialized_metadata"]
    # rosbags and the reader of this project still read the bag
    assert len(bags.read_sequence_bag(tmp_path / "bag").frames) == 3
    bags.write_sequence_bag(tmp_path / "db", frames, boxes, fps=30, storage="sqlite3", ros_distro="jazzy")
    meta = yaml.safe_load((tmp_path / "db" / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["ros_distro"] == "jazzy" and len(bags.read_sequence_bag(tmp_path / "db").frames) == 3


def test_cut_mcap_takes_frame_count_and_custom_data_from_intact_metadata(tmp_path):
    frames, boxes = make_sequence(n=40, h=120, w=160, seed=2)
    bags.write_sequence_bag(tmp_path / "bag", frames, boxes, fps=30, custom_data={"dataset": "lasot", "protocol": "lasot"})
    (mcap_file,) = (tmp_path / "bag").glob("*.mcap")
    data = mcap_file.read_bytes()
    mcap_file.write_bytes(data[: int(len(data) * 0.7)])
    seq = bags.read_sequence_bag(tmp_path / "bag")
    assert not seq.complete and seq.expected_frames == 40 and 0 < len(seq.frames) < 40
    assert seq.custom_data["protocol"] == "lasot"
