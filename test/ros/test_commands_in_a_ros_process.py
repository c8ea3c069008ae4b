"""Commands that start rclpy keep to their own context, so they run inside a process that already uses rclpy.

The test session initialises the default context for the ROS tests; ``mixformerv2-replay --live`` (main()
called in-process, as test/evaluation does) must neither call ``rclpy.init()`` on it again nor shut it down.
"""
from __future__ import annotations

import rclpy

from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_ros import bags, replay


def test_live_replay_command_runs_beside_an_initialised_default_context(ros_context, tmp_path, capsys):
    assert rclpy.ok()
    seq = generate_sequence(seed=2, num_frames=3, frame_size=(64, 64))
    bags.write_sequence_bag(tmp_path / "bag", seq.frames, seq.boxes, fps=30)
    rc = replay.main(["--live", "--bag", str(tmp_path / "bag"), "--out", str(tmp_path / "out"), "--timeout", "1",
                      "--node", "/nobody_here/mixformerv2_tracker", "--node-image-topic", "/nobody_here/image"])
    err = capsys.readouterr().err
    assert rc == 2 and "does not answer" in err, err  # the real error, not a second rclpy.init()
    assert rclpy.ok()  # the session's context is still usable
