"""Deep-to-shallow pieces: gamma schedule, exact identity of eliminated blocks, removal, MLP slicing."""
import math

import pytest
import torch

from mixformerv2_core import ModelConfig, build_model
from mixformerv2_training.reduction import block_gammas, kept_index_map, pruning_gamma, remove_blocks, slice_mlps


def test_gamma_schedule_matches_the_reference_values():
    expected = {1: 0.99384, 10: 0.82472, 20: 0.46077, 30: 0.11980, 38: 0.00154}
    for epoch, value in expected.items():
        assert pruning_gamma(epoch, 40) == pytest.approx(value, abs=1e-5)
    assert pruning_gamma(39, 40) == 0.0 and pruning_gamma(45, 40) == 0.0
    assert pruning_gamma(1, 4) == pytest.approx(0.5 * (1 + math.cos(math.pi * 2 / 4)))
    assert block_gammas(4, [0, 2], 0.3) == [0.3, 1.0, 0.3, 1.0]
    with pytest.raises(ValueError):
        block_gammas(4, [4], 0.3)


def _inputs(config, batch=2):
    torch.manual_seed(3)
    t = torch.randn(batch, 3, config.template_size, config.template_size)
    return t, t.flip(-1), torch.randn(batch, 3, config.search_size, config.search_size)


def test_eliminated_block_at_gamma_zero_is_identity_and_removal_keeps_outputs():
    config = ModelConfig.tiny(depth=4, drop_path_rate=0.0)
    torch.manual_seed(0)
    model = build_model(config).eval()
    inputs = _inputs(config)
    with torch.no_grad():
        full = model(*inputs, block_gammas=block_gammas(4, [0, 2], 0.0))
        feats = full["distill_feat_list"]
        before_block0 = model.backbone.forward(*inputs, block_gammas=[1.0, 1.0, 1.0, 1.0])  # block 0 active
        assert not torch.allclose(before_block0[0], feats[0])
        # block 2 at gamma 0 passes its input through unchanged
        assert torch.equal(feats[2], feats[1])
        pruned = remove_blocks(model, [0, 2]).eval()
        out = pruned(*inputs)
    assert pruned.config.depth == 2 and len(pruned.backbone.blocks) == 2
    assert torch.allclose(out["pred_boxes"], full["pred_boxes"], atol=1e-6)
    assert torch.allclose(out["distill_feat_list"][-1], feats[-1], atol=1e-6)
    assert kept_index_map(4, [0, 2]) == {1: 0, 3: 1}


def test_mlp_slicing_shapes_and_closeness_to_the_teacher():
    config = ModelConfig.tiny(depth=2, mlp_ratio=4.0, drop_path_rate=0.0)
    torch.manual_seed(0)
    teacher = build_model(config).eval()
    student = slice_mlps(teacher, 1.0).eval()
    block, source = student.backbone.blocks[0], teacher.backbone.blocks[0]
    assert block.mlp.fc1.weight.shape == (64, 64) and block.mlp.fc2.weight.shape == (64, 64)
    assert torch.equal(block.mlp.fc1.weight, source.mlp.fc1.weight[:64])
    assert torch.equal(block.mlp.fc2.weight, source.mlp.fc2.weight[:, :64])
    assert torch.equal(block.attn.qkv.weight, source.attn.qkv.weight)  # attention untouched
    inputs = _inputs(config)
    with torch.no_grad():
        a, b = teacher(*inputs), student(*inputs)
        random_student = build_model(config.replace(mlp_ratio=1.0)).eval()(*inputs)
    # the sliced student starts near its teacher (it keeps a quarter of every MLP), far closer than a fresh net
    error = (a["pred_boxes"] - b["pred_boxes"]).abs().mean()
    assert error < (a["pred_boxes"] - random_student["pred_boxes"]).abs().mean()
    with pytest.raises(ValueError):
        slice_mlps(student, 4.0)
