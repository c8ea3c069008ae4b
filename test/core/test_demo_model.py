"""The built-in demo model (what `mixformerv2-track` runs without --weights) loads and follows generated objects
on held-out scenes far better than a box that stays where it started, as its card (docs/demo_model.md) says."""
import numpy as np
import pytest

from mixformerv2_core import load_tracker
from mixformerv2_core.cli.track import DEMO_WEIGHTS
from mixformerv2_core.evaluation.metrics import iou, success_curve
from mixformerv2_core.synthetic import generate_sequence

HELD_OUT_SEED = 100_000  # the demo was trained on scene seeds far below this


def _auc(ious: np.ndarray) -> float:
    return float(success_curve(ious).mean())


@pytest.mark.parametrize("scene", [{"num_distractors": 0, "occlusion": False}, {}], ids=["easy", "default"])
def test_demo_model_tracks_held_out_scenes(scene):
    tracked, static = [], []
    for seed in range(HELD_OUT_SEED, HELD_OUT_SEED + 3):
        sequence = generate_sequence(seed=seed, num_frames=60, frame_size=(240, 320), **scene)
        tracker = load_tracker(str(DEMO_WEIGHTS))
        tracker.initialize(sequence.frames[0], sequence.boxes[0])
        boxes = np.array([tracker.track(frame).box for frame in sequence.frames[1:]])
        tracked.append(iou(boxes, sequence.boxes[1:]))
        static.append(iou(np.repeat(sequence.boxes[:1], len(boxes), axis=0), sequence.boxes[1:]))
    tracked, static = np.concatenate(tracked), np.concatenate(static)
    assert _auc(tracked) > _auc(static) + 0.2, (_auc(tracked), _auc(static))
