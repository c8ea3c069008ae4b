"""The model-reduction route end to end on tiny settings (plumbing, not accuracy): teacher -> dense-to-sparse
(4 layers) -> progressive pruning 4 -> 2 layers -> MLP reduction -> score head -> export -> tracker."""
import numpy as np
import pytest
import torch

from mixformerv2_core import CheckpointError, load_model, load_tracker
from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_training.config import load_config
from mixformerv2_training.export import main as export_main
from mixformerv2_training.trainer import Trainer

STUDENT = ("model={embed_dim: 32, depth: 4, num_heads: 2, mlp_ratio: 2.0, template_size: 32, search_size: 64, "
           "feat_sz: 16, head_hidden_dim: 32, drop_path_rate: 0.0, score_head: false}")
SMALL = ["data.samples_per_epoch=32", "data.batch_size=8", "train.log_interval=1", "train.epochs=1"]


def _run(tmp_path, name, *overrides):
    config = load_config("tiny_teacher", [*SMALL, f"output_dir={tmp_path / name}", *overrides])
    return Trainer(config).fit()["final"]


def test_tiny_route_ends_in_a_tracker_loadable_pruned_model(tmp_path):
    teacher = _run(tmp_path, "teacher", "teacher_model.embed_dim=32", "teacher_model.num_heads=2")
    d2s = _run(tmp_path, "d2s", "stage=dense_to_sparse", STUDENT, f"teacher.checkpoint={teacher}",
               f"init.checkpoint={teacher}")
    assert load_model(d2s).config.depth == 4
    pruned = _run(tmp_path, "prune", "stage=deep_to_shallow", STUDENT, f"teacher.checkpoint={d2s}",
                  f"init.checkpoint={d2s}", "train.remove_layers=[0, 2]", "train.pruning_epochs=3", "train.epochs=2",
                  "train.feature_pairs=[[1, 1], [3, 3]]")
    model = load_model(pruned)
    assert model.config.depth == 2 and len(model.backbone.blocks) == 2
    assert not any(k.startswith("backbone.blocks.2.") for k in model.state_dict())
    small = STUDENT.replace("depth: 4", "depth: 2").replace("mlp_ratio: 2.0", "mlp_ratio: 1.0")
    reduced = _run(tmp_path, "mlp", "stage=deep_to_shallow", small, f"teacher.checkpoint={pruned}",
                   f"init.checkpoint={pruned}", "train.feature_pairs=[[0, 0], [1, 1]]")
    assert load_model(reduced).backbone.blocks[0].mlp.fc1.weight.shape == (32, 32)
    scored = _run(tmp_path, "score", "stage=score", small.replace("score_head: false", "score_head: true"),
                  f"init.checkpoint={reduced}", "data.sampler_mode=trident_pro")
    before, after = load_model(reduced).state_dict(), load_model(scored).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # only the score head trained
    assert export_main([scored, str(tmp_path / "exported.pt"), "--search-factor", "4.0"]) == 0
    tracker = load_tracker(str(tmp_path / "exported.pt"))
    assert tracker.params.search_factor == 4.0
    sequence = generate_sequence(seed=5, num_frames=3, frame_size=(96, 128))
    tracker.initialize(sequence.frames[0], sequence.boxes[0])
    result = tracker.track(sequence.frames[1])
    assert np.all(np.isfinite(result.box)) and 0.0 <= result.score <= 1.0


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
