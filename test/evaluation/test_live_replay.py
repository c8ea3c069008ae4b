"""Live replay through real rclpy into a running TrackingNode (needs the ROS environment of test/ros)."""
import os
import threading

import numpy as np
import pytest

os.environ.setdefault("ROS_DOMAIN_ID", str(1 + (os.getpid() + 50) % 100))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
if not os.environ.get("ROS_DISTRO"):
    pytest.importorskip("rclpy", reason="ROS 2 environment not sourced (source .ros_env/setup.sh)")
    pytest.importorskip("vision_msgs.msg", reason="vision_msgs not built (scripts/setup_ros_env.sh)")

import rclpy  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from mixformerv2_core.results_io import read_boxes  # noqa: E402
from mixformerv2_core.synthetic import generate_sequence  # noqa: E402
from mixformerv2_ros import bags  # noqa: E402
from mixformerv2_ros.executors import ResilientMultiThreadedExecutor  # noqa: E402
from mixformerv2_ros.live_replay import replay_live  # noqa: E402
from mixformerv2_ros.tracking_node import TrackingNode  # noqa: E402


@pytest.fixture
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)


@pytest.fixture
def running_node(context, eval_checkpoint):
    node = TrackingNode(namespace="/live", context=context,
                        parameter_overrides=[Parameter("weights", value=str(eval_checkpoint))])
    executor = ResilientMultiThreadedExecutor(num_threads=3, context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node
    executor.shutdown()
    node._stop_worker()
    node.destroy_node()


def test_live_replay_scores_node_output_with_latency_and_skips(tmp_path, context, running_node):
    seq = generate_sequence(seed=4, num_frames=20, frame_size=(96, 128))
    bags.write_sequence_bag(tmp_path / "bag", seq.frames, seq.boxes, fps=30)
    client = rclpy.create_node("replay_client", namespace="/live", context=context)
    try:
        result = replay_live(client, tmp_path / "bag", tmp_path / "out", tracker_node="/live/mixformerv2_tracker",
                             image_topic="/live/image", name="s", timeout=20.0)
    finally:
        client.destroy_node()
    extra = result.extra
    assert result.frames_evaluated == 20 and extra["frames_sent"] == 20
    assert extra["frames_answered"] >= 10 and 0.0 <= extra["skipped_share"] <= 0.5
    assert extra["answers_without_target"] == 0  # the node tracked our target from its init box on
    assert 0 < extra["latency_ms_median"] <= extra["latency_ms_p90"] <= extra["latency_ms_max"] < 5000
    assert np.isfinite(result.metrics["AUC"])
    boxes = read_boxes(tmp_path / "out" / "s.txt")
    np.testing.assert_allclose(boxes[0], seq.boxes[0], atol=0.01)
    assert len((tmp_path / "out" / "s_latency.txt").read_text().split()) == 20
    assert (tmp_path / "out" / "report" / "success.png").exists()


def test_live_replay_without_a_node_is_a_clear_error(tmp_path, context):
    seq = generate_sequence(seed=4, num_frames=3, frame_size=(64, 64))
    bags.write_sequence_bag(tmp_path / "bag", seq.frames, seq.boxes, fps=30)
    client = rclpy.create_node("replay_client", namespace="/nobody", context=context)
    try:
        with pytest.raises(RuntimeError, match="does not answer"):
            replay_live(client, tmp_path / "bag", tmp_path / "out", tracker_node="/nobody/tracker",
                        image_topic="/nobody/image", timeout=1.0)
    finally:
        client.destroy_node()


def test_live_replay_command(tmp_path, running_node, capsys):
    from mixformerv2_ros import replay

    seq = generate_sequence(seed=5, num_frames=10, frame_size=(96, 128))
    bags.write_sequence_bag(tmp_path / "bag", seq.frames, seq.boxes, fps=30, storage="sqlite3", compressed="png")
    rc = replay.main(["--live", "--bag", str(tmp_path / "bag"), "--out", str(tmp_path / "out"), "--rate", "2",
                      "--node", "/live/mixformerv2_tracker", "--node-image-topic", "/live/image", "--name", "c"])
    captured = capsys.readouterr()
    out = captured.out
    assert rc == 0 and "latency median" in out and "| c |" in out, captured.err
    assert (tmp_path / "out" / "replay.json").exists()
