"""The demo's figures from its records: which frames count, latency, IoU and the static-box baseline."""
from __future__ import annotations

import pytest

from mixformerv2_ros.demo import Answer, summarise

MS = 1_000_000


def _truth(count: int) -> list[dict]:
    return [{"frame": i, "stamp_ns": 1000 * MS + i * 33 * MS, "box": [10.0 + 5 * i, 20.0, 40.0, 30.0]}
            for i in range(count)]


def test_only_frames_sent_after_the_init_request_count_and_boxes_are_scored():
    truth = _truth(10)
    init_stamp, init_sent = truth[2]["stamp_ns"], truth[3]["stamp_ns"] + 1
    answers = [
        Answer(truth[1]["stamp_ns"], truth[1]["stamp_ns"] + 5 * MS, None, 0.0),  # before the init: no target
        *[Answer(row["stamp_ns"], row["stamp_ns"] + (10 + i) * MS, tuple(row["box"]), 0.9)
          for i, row in enumerate(truth[4:9])],  # frames 4-8 answered exactly, frame 9 dropped
        Answer(truth[5]["stamp_ns"], truth[5]["stamp_ns"] + 99 * MS, None, 0.0),  # a duplicate without the target
    ]
    stats = summarise(truth, answers, init_stamp, init_sent)
    assert stats["init_frame"] == 2 and stats["frames_sent"] == 10
    assert stats["frames_after_init"] == 6 and stats["frames_answered"] == 5
    assert stats["answered_share"] == pytest.approx(5 / 6)
    assert stats["latency_median_ms"] == pytest.approx(12.0) and stats["latency_p90_ms"] <= 14.0
    assert stats["mean_iou"] == pytest.approx(1.0)
    # the init box left in place overlaps less and less as the target moves 5 px per frame
    assert 0.0 < stats["static_box_iou"] < 1.0
    assert stats["lost_frames"] == 0


def test_low_scores_count_as_lost_with_the_core_rule():
    truth = _truth(5)
    answers = [Answer(row["stamp_ns"], row["stamp_ns"] + MS, tuple(row["box"]), score)
               for row, score in zip(truth[1:], (0.9, 0.2, float("nan"), 0.25))]
    stats = summarise(truth, answers, truth[0]["stamp_ns"], truth[0]["stamp_ns"] + 1)
    assert stats["lost_frames"] == 2  # 0.2 and NaN; 0.25 is the threshold itself
