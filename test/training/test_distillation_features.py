"""Feature mimicking in dense-to-sparse: the student's blocks learn to stay near the MixViT teacher's."""
import pytest
import torch

from mixformerv2_training.config import load_config
from mixformerv2_training.models.teacher import build_teacher, save_teacher
from mixformerv2_training.stages import build_stage

from .test_target_attention import _batch, descend


def _teacher(tmp_path, **changes):
    config = dict(load_config("tiny_teacher")["teacher_model"], **changes)
    path = tmp_path / "teacher.pt"
    torch.manual_seed(0)
    save_teacher(build_teacher(config), path)
    return path


def _stage(tmp_path, teacher, *overrides):
    config = load_config("tiny_dense_to_sparse", [f"output_dir={tmp_path}", f"teacher.checkpoint={teacher}",
                                                  f"init.checkpoint={teacher}", *overrides])
    return build_stage(config)


def test_the_term_is_the_mean_squared_gap_on_the_shared_tokens_and_descends(tmp_path):
    stage = _stage(tmp_path, _teacher(tmp_path), "train.feature_pairs=[[2, 2], [3, 3]]",
                   "train.loss_weights.feat=0.5")
    batch = _batch(stage.model.config)
    terms = stage.losses(stage.model, batch)
    t = batch["template_images"]
    with torch.no_grad():
        student = stage.model(t[:, 0], t[:, 1], batch["search_images"])["distill_feat_list"]
        teacher = stage.teacher(t[:, 0], t[:, 1], batch["search_images"])["distill_feat_list"]
    shared = teacher[3].shape[1]
    assert student[3].shape[1] == shared + stage.model.config.num_reg_tokens
    expected = torch.stack([(student[i][:, :shared] - teacher[i]).pow(2).mean() for i in (2, 3)]).mean()
    torch.testing.assert_close(terms["feat"].detach(), expected)
    without = _stage(tmp_path, _teacher(tmp_path)).losses(stage.model, batch)
    assert "feat" not in without
    torch.testing.assert_close(terms["total"].detach(), without["total"].detach() + 0.5 * expected)

    with torch.no_grad():  # move the student's blocks away from the teacher's, then let the term pull them back
        for p in stage.model.backbone.blocks[2].parameters():
            p.add_(0.3 * torch.randn_like(p))
    pushed, after = descend(stage, batch, "feat", torch.optim.Adam(stage.model.parameters(), lr=0.01), steps=30)
    assert after < 0.5 * pushed


def test_pairs_outside_either_network_or_a_teacher_of_another_width_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"feature pair \(4, 3\) is outside student depth 4 / teacher depth 4"):
        _stage(tmp_path, _teacher(tmp_path), "train.feature_pairs=[[4, 3]]")
    narrow = _teacher(tmp_path, embed_dim=32, head_channel=32, num_heads=2)
    with pytest.raises(ValueError, match="feature_pairs need the teacher's width; .* has 32, the student 64"):
        _stage(tmp_path, narrow, "init.checkpoint=null", "train.feature_pairs=[[3, 3]]")
    assert _stage(tmp_path, narrow, "init.checkpoint=null").pairs == []  # without pairs any teacher teaches
