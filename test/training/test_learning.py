"""Proof on CPU that the toolkit learns: a tiny teacher learns to track generated scenes, and dense-to-sparse
distillation from it lowers the student's KL to the teacher.

Runs about two to three minutes on two CPU cores (the teacher is trained once for the module).
"""
import json

import pytest
import torch

from mixformerv2_core import load_model
from mixformerv2_training.config import load_config
from mixformerv2_training.synthetic_eval import evaluate_synthetic, teacher_tracker
from mixformerv2_training.trainer import Trainer

EASY = {"num_distractors": 0, "occlusion": False}


def _log(run_dir):
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tiny_teacher")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread wastes no CPU on spinning workers
    summary = Trainer(load_config("tiny_teacher", [f"output_dir={run_dir}"])).fit()
    assert summary["stopped_by"] is None
    yield run_dir
    torch.set_num_threads(threads)


def test_teacher_loss_falls(teacher_run):
    log = _log(teacher_run)
    first, last = log[0]["total"], log[-1]["total"]
    assert last < 0.6 * first, (first, last)
    assert log[-1]["iou"] > log[0]["iou"] + 0.2


def test_trained_teacher_tracks_better_than_a_static_box(teacher_run):
    teacher = str(teacher_run / "final.pt")
    score = evaluate_synthetic(lambda: teacher_tracker(teacher, search_factor=4.0), num_sequences=4, num_frames=40,
                               frame_size=(120, 160), scene_options=EASY)
    assert score.auc > score.baseline_auc + 0.1, score.as_dict()  # measured: 0.35 vs 0.16
    assert score.mean_iou > score.baseline_mean_iou + 0.1, score.as_dict()


def test_dense_to_sparse_lowers_the_students_kl_to_the_teacher(teacher_run, tmp_path):
    teacher = str(teacher_run / "final.pt")
    config = load_config("tiny_teacher", [
        "stage=dense_to_sparse", f"output_dir={tmp_path}", f"teacher.checkpoint={teacher}",
        f"init.checkpoint={teacher}",  # backbone initialised from the teacher's, as MAE weights in the paper
        "model={embed_dim: 64, depth: 2, num_heads: 4, mlp_ratio: 2.0, template_size: 32, search_size: 64, "
        "feat_sz: 16, head_hidden_dim: 64, drop_path_rate: 0.0}",
        "train.epochs=1", "train.lr=2.0e-4", "train.grad_clip=0.1",
    ])
    summary = Trainer(config).fit()
    log = _log(tmp_path)
    assert log[-1]["kl"] < 0.9 * log[0]["kl"], (log[0]["kl"], log[-1]["kl"])
    student = load_model(summary["final"])  # the exported student is a plain core checkpoint
    assert student.config.feat_sz == 16 and student.config.depth == 2
