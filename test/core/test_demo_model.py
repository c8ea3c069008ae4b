"""The built-in demo model (what `mixformerv2-track` runs without --weights) loads and follows generated objects
on held-out scenes far better than a box that stays where it started, as its card (docs/demo_model.md) says.
"""
import pytest

from mixformerv2_core import load_tracker
from mixformerv2_core.cli.track import DEMO_WEIGHTS
from mixformerv2_core.evaluation.synthetic import evaluate_synthetic


@pytest.mark.parametrize("scene", [{"num_distractors": 0, "occlusion": False}, {}], ids=["easy", "default"])
def test_demo_model_tracks_held_out_scenes(scene):
    score = evaluate_synthetic(lambda: load_tracker(str(DEMO_WEIGHTS)), num_sequences=3, num_frames=60,
                               frame_size=(240, 320), scene_options=scene)
    assert score.auc > score.baseline_auc + 0.2, score.as_dict()
