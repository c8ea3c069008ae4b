"""The model-reduction route end to end on tiny settings: teacher -> dense-to-sparse (4 blocks) -> progressive
pruning 4 -> 2 blocks -> MLP reduction -> score head -> export, and the result tracks held-out scenes better
than a static box. The teacher and the stage-1 student come from the session fixtures (conftest.py).
"""
import numpy as np
import pytest
import torch

from mixformerv2_core import CheckpointError, load_model, load_tracker
from mixformerv2_training.synthetic_eval import evaluate_synthetic
from mixformerv2_training.config import load_config
from mixformerv2_training.export import main as export_main
from mixformerv2_training.trainer import Trainer

from .conftest import run_preset
from .test_learning import HELD_OUT

STUDENT = ("model={embed_dim: 32, depth: 4, num_heads: 2, mlp_ratio: 2.0, template_size: 32, search_size: 64, "
           "feat_sz: 16, head_hidden_dim: 32, drop_path_rate: 0.0, score_head: false}")
SMALL = ["data.samples_per_epoch=32", "data.batch_size=8", "train.log_interval=1", "train.epochs=1"]


def _run(tmp_path, name, *overrides):
    config = load_config("tiny_teacher", [*SMALL, f"output_dir={tmp_path / name}", *overrides])
    return Trainer(config).fit()["final"]


def test_tiny_route_ends_in_a_pruned_reduced_model_that_tracks(tiny_student, tmp_path):
    """Teacher -> dense-to-sparse (4 blocks; fixtures) -> 4 -> 2 blocks -> MLP 2 -> 1 -> score head -> export."""
    d2s = tiny_student / "final.pt"
    pruned = run_preset("tiny_deep_to_shallow", tmp_path / "prune", d2s)
    model = load_model(pruned)
    assert model.config.depth == 2 and len(model.backbone.blocks) == 2
    assert not any(k.startswith("backbone.blocks.2.") for k in model.state_dict())
    reduced = run_preset("tiny_mlp_reduction", tmp_path / "mlp", pruned)
    assert load_model(reduced).backbone.blocks[0].mlp.fc1.weight.shape == (64, 64)
    scored = run_preset("tiny_score", tmp_path / "score", reduced)
    before, after = load_model(reduced).state_dict(), load_model(scored).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # only the score head trained
    exported = tmp_path / "exported.pt"
    assert export_main([str(scored), str(exported)]) == 0
    tracker = load_tracker(str(exported))
    assert tracker.params.search_factor == 4.0 and tracker.config.depth == 2
    score = evaluate_synthetic(lambda: load_tracker(str(exported)), **HELD_OUT)
    assert score.auc > score.baseline_auc + 0.1, score.as_dict()
    assert score.mean_iou > score.baseline_mean_iou + 0.1, score.as_dict()


def test_exporting_a_pruning_run_before_gamma_reaches_zero_is_refused(tmp_path):
    config = load_config("tiny_teacher", [*SMALL, "stage=student", STUDENT, f"output_dir={tmp_path / 's'}"])
    base = Trainer(config).fit()["final"]
    config = load_config("tiny_teacher", [*SMALL, "stage=deep_to_shallow", STUDENT, f"output_dir={tmp_path / 'p'}",
                                          f"teacher.checkpoint={base}", f"init.checkpoint={base}",
                                          "train.remove_layers=[1]", "train.pruning_epochs=40", "train.max_steps=2"])
    with pytest.raises(RuntimeError, match="gamma"):
        Trainer(config).fit()
    assert export_main([str(tmp_path / "p" / "checkpoints" / "last.pt"), str(tmp_path / "x.pt")]) == 2


def test_a_mismatched_previous_stage_is_a_clear_error(tmp_path):
    config = load_config("tiny_teacher", [*SMALL, "stage=student", STUDENT, f"output_dir={tmp_path / 's'}"])
    base = Trainer(config).fit()["final"]
    wider = STUDENT.replace("embed_dim: 32", "embed_dim: 64")
    config = load_config("tiny_teacher", [*SMALL, "stage=deep_to_shallow", wider, f"output_dir={tmp_path / 'p'}",
                                          f"teacher.checkpoint={base}", f"init.checkpoint={base}"])
    with pytest.raises(CheckpointError, match="only the MLP width may shrink"):
        Trainer(config)


def test_exporting_one_of_our_checkpoints_keeps_its_tracker_defaults(tmp_path):
    from mixformerv2_core import ModelConfig, build_model, read_checkpoint, save_checkpoint

    source = save_checkpoint(build_model(ModelConfig.tiny()), tmp_path / "final.pt", tracker_defaults={"search_factor": 4.0})
    assert export_main([str(source), str(tmp_path / "out.pt")]) == 0
    assert read_checkpoint(tmp_path / "out.pt").tracker_defaults == {"search_factor": 4.0}
    assert export_main([str(source), str(tmp_path / "out2.pt"), "--search-factor", "3.5"]) == 0
    assert read_checkpoint(tmp_path / "out2.pt").tracker_defaults == {"search_factor": 3.5}


def test_one_command_exports_a_training_state_to_a_checkpoint_and_onnx_bundles(tmp_path):
    from mixformerv2_core import MultiTargetTracker
    from mixformerv2_core.synthetic import generate_sequence

    config = load_config("tiny_teacher", [*SMALL, "stage=student", STUDENT, f"output_dir={tmp_path / 's'}"])
    Trainer(config).fit()
    state = tmp_path / "s" / "checkpoints" / "last.pt"
    with pytest.raises(CheckpointError, match="mixformerv2-train-export"):  # the core refuses to guess heads
        load_model(state)
    out = tmp_path / "model.pt"
    assert export_main([str(state), str(out), "--onnx", str(tmp_path / "onnx"), "--int8"]) == 0
    sequence = generate_sequence(seed=3, num_frames=4, frame_size=(96, 128))
    boxes = {}
    for backend, options in (("torch", {}), ("onnx", {"bundle_dir": str(tmp_path / "onnx" / "fp32")}),
                             ("onnx-int8", {"bundle_dir": str(tmp_path / "onnx" / "int8")})):
        tracker = MultiTargetTracker.from_checkpoint(str(out), backend=backend, backend_options=options)
        tracker.add(0, sequence.frames[0], sequence.boxes[0])
        boxes[backend] = [tracker.track(frame)[0].box for frame in sequence.frames[1:]]
    assert np.allclose(boxes["torch"], boxes["onnx"], atol=1e-2)
    assert all(np.all(np.isfinite(b)) for b in boxes["onnx-int8"])
