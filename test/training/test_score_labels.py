"""What the score stage teaches: the paper's presence labels, or the overlap of the model's own box."""
import pytest
import torch
import torch.nn.functional as F

from mixformerv2_core import ModelConfig, build_model
from mixformerv2_core.checkpoint import save_checkpoint
from mixformerv2_training.config import load_config
from mixformerv2_training.stages import build_stage

from .test_target_attention import _batch


def _stage(tmp_path, *overrides, depth=2):
    model = build_model(ModelConfig(embed_dim=32, depth=depth, num_heads=2, template_size=32, search_size=64,
                                    feat_sz=16, head_hidden_dim=32, drop_path_rate=0.0))
    init = save_checkpoint(model, tmp_path / "student.pt")
    return build_stage(load_config("tiny_score", [f"init.checkpoint={init}", f"output_dir={tmp_path}", *overrides]))


def _scored(stage, labels):
    batch = _batch(stage.model.config)
    batch["label"] = torch.tensor(labels)
    t = batch["template_images"]
    with torch.no_grad():
        out = stage.model(t[:, 0], t[:, 1], batch["search_images"], softmax=False, run_score_head=True)
    return batch, out


def test_iou_labels_are_the_overlap_of_the_models_own_box_and_zero_without_the_target(tmp_path):
    stage = _stage(tmp_path, "train.score_label=iou")
    centred = [0.5, 0.5, 0.2, 0.2]  # cx, cy, w, h
    out = {"pred_boxes": torch.tensor([[centred], [centred], [centred]])}
    batch = {"label": torch.tensor([1.0, 0.0, 1.0]),  # x, y, w, h: the same box; the same, absent; half off
             "search_anno": torch.tensor([[0.4, 0.4, 0.2, 0.2], [0.4, 0.4, 0.2, 0.2], [0.5, 0.4, 0.2, 0.2]])}
    torch.testing.assert_close(stage._labels(out, batch), torch.tensor([1.0, 0.0, 1 / 3]))


def test_the_score_loss_is_bce_against_those_labels(tmp_path):
    stage = _stage(tmp_path, "train.score_label=iou")
    batch, out = _scored(stage, [1.0, 0.0, 1.0])
    expected = F.binary_cross_entropy_with_logits(out["pred_scores"].float(), stage._labels(out, batch))
    torch.testing.assert_close(stage.losses(stage.model, batch)["score_bce"].detach(), expected)


def test_presence_labels_are_the_samplers(tmp_path):
    stage = _stage(tmp_path, "train.score_label=presence")
    batch, out = _scored(stage, [1.0, 0.0, 1.0])
    torch.testing.assert_close(stage._labels(out, batch), batch["label"])


def test_an_unknown_label_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown train.score_label 'box'"):
        load_config("tiny_score", ["train.score_label=box"])


def test_a_score_stage_inheriting_the_attention_weight_builds_on_a_one_block_student(tmp_path):
    """The score stage never adds the target-attention term (real_score inherits attn 1 from its base preset)."""
    assert _stage(tmp_path, "train.loss_weights.attn=1.0", depth=1).model.config.depth == 1
