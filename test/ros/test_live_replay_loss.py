"""mixformerv2-replay --live tells frames lost in transport from frames the busy node skipped."""
from __future__ import annotations

import rclpy

from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_ros import bags
from mixformerv2_ros.live_replay import describe_unanswered, replay_live
from mixformerv2_ros.tracking_node import NODE_NAME


def test_unanswered_frames_are_split_by_the_node_counters(make_harness, tmp_path):
    harness = make_harness()
    harness.wait_connected()
    seq = generate_sequence(seed=4, num_frames=60, frame_size=(240, 320))
    bags.write_sequence_bag(tmp_path / "bag", seq.frames, seq.boxes, fps=30)
    client = rclpy.create_node("replay_client", namespace=harness.namespace)
    try:  # 20x the bag's rate (600 Hz): the node cannot keep up and skips frames
        result = replay_live(client, tmp_path / "bag", tmp_path / "out", tracker_node=f"{harness.namespace}/{NODE_NAME}",
                             image_topic=f"{harness.namespace}/image", name="s", timeout=20.0, rate=20.0)
    finally:
        client.destroy_node()
    extra = result.extra
    assert extra["frames_published"] >= 60
    received = extra["frames_received_by_node"]
    assert received == harness.node.stats.received  # the node's own count, read over /diagnostics
    assert received + extra["lost_in_transport"] == extra["frames_published"]
    assert extra["skipped_busy"] == harness.node.stats.dropped > 0
    assert extra["refused_bad"] == 0
    # every frame that reached the node was answered, skipped while busy, or refused
    assert extra["frames_answered"] + 1 + extra["skipped_busy"] + extra["refused_bad"] == received
    line = describe_unanswered(extra)
    assert "lost in transport" in line and f"{extra['skipped_busy']} (" in line
