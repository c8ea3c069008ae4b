"""Proof on CPU that the toolkit learns (issue: training part 1): a tiny teacher learns to track generated
scenes, and dense-to-sparse distillation from it gives a MixFormerV2 student whose KL to the teacher falls
and that tracks held-out scenes better than a box that stays where it started.

The two trainings (fixtures in conftest.py) take about five minutes of two CPU cores together.
"""
from mixformerv2_core import load_model, load_tracker
from mixformerv2_training.synthetic_eval import evaluate_synthetic, teacher_tracker

from .conftest import EASY_SCENES, read_log

HELD_OUT = dict(num_sequences=4, num_frames=40, frame_size=(120, 160), scene_options=EASY_SCENES)


def test_teacher_loss_falls(tiny_teacher):
    log = read_log(tiny_teacher)
    first, last = log[0]["total"], log[-1]["total"]
    assert last < 0.6 * first, (first, last)
    assert log[-1]["iou"] > log[0]["iou"] + 0.3


def test_trained_teacher_tracks_better_than_a_static_box(tiny_teacher):
    teacher = str(tiny_teacher / "final.pt")
    score = evaluate_synthetic(lambda: teacher_tracker(teacher, search_factor=4.0), **HELD_OUT)
    assert score.auc > score.baseline_auc + 0.3, score.as_dict()
    assert score.mean_iou > score.baseline_mean_iou + 0.3, score.as_dict()


def test_dense_to_sparse_student_learns_from_the_teacher_and_tracks(tiny_student):
    log = read_log(tiny_student)
    assert log[-1]["kl"] < 0.5 * log[0]["kl"], (log[0]["kl"], log[-1]["kl"])
    final = tiny_student / "final.pt"
    student = load_model(final)  # the exported student is a plain core checkpoint
    assert student.config.depth == 4 and student.config.feat_sz == 16
    score = evaluate_synthetic(lambda: load_tracker(str(final)), **HELD_OUT)
    assert score.auc > score.baseline_auc + 0.1, score.as_dict()
    assert score.mean_iou > score.baseline_mean_iou + 0.1, score.as_dict()
