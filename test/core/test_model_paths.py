"""Cached path == full forward, batched == one by one, and the head/attention invariants."""
from __future__ import annotations

import pytest
import torch

from mixformerv2_core import ModelConfig, build_model


def inputs(config, batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(batch, 3, config.template_size, config.template_size, generator=g)
    o = torch.randn(batch, 3, config.template_size, config.template_size, generator=g)
    s = torch.randn(batch, 3, config.search_size, config.search_size, generator=g)
    return t, o, s


def assert_outputs_close(a, b, atol=1e-5):
    for key in ("pred_boxes", "prob_l", "prob_t", "prob_r", "prob_b", "pred_scores"):
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0)


@pytest.mark.parametrize("config", [ModelConfig.tiny(), ModelConfig.tiny(depth=3, mlp_ratio=1.0), "S"], ids=str)
def test_cached_path_equals_full_forward(config):
    model = build_model(config).eval()
    t, o, s = inputs(model.config, 2)
    with torch.no_grad():
        full = model(t, o, s)
        cached = model.forward_search(s, model.encode_templates(t, o))
    assert_outputs_close(full, cached)


def test_cached_path_with_two_online_templates_equals_full_forward(tiny_model):
    t, o, s = inputs(tiny_model.config, 2)
    o2 = torch.randn_like(o)
    with torch.no_grad():
        full = tiny_model(t, [o, o2], s)
        cached = tiny_model.forward_search(s, tiny_model.encode_templates(t, [o, o2]))
    assert_outputs_close(full, cached)
    assert tiny_model.encode_templates(t, [o, o2]).shape[-2] == 3 * tiny_model.config.num_template_tokens


def test_batched_equals_one_by_one(tiny_model):
    t, o, s = inputs(tiny_model.config, 3)
    with torch.no_grad():
        batched = tiny_model(t, o, s)
        for i in range(3):
            single = tiny_model(t[i : i + 1], o[i : i + 1], s[i : i + 1])
            for key in ("pred_boxes", "prob_l", "pred_scores"):
                torch.testing.assert_close(batched[key][i : i + 1], single[key], atol=1e-5, rtol=0)


def test_box_is_expectation_of_distributions_and_logits_mode(tiny_model):
    t, o, s = inputs(tiny_model.config, 2)
    with torch.no_grad():
        probs = tiny_model(t, o, s)
        logits = tiny_model(t, o, s, softmax=False)
    bins = torch.arange(tiny_model.config.feat_sz) / tiny_model.config.feat_sz
    left, right, top, bottom = ((probs[f"prob_{k}"] * bins).sum(-1) for k in "lrtb")
    expected = torch.stack([(left + right) / 2, (top + bottom) / 2, right - left, bottom - top], -1)
    torch.testing.assert_close(probs["pred_boxes"][:, 0], expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(logits["prob_t"].softmax(-1), probs["prob_t"], atol=1e-6, rtol=0)
    torch.testing.assert_close(logits["pred_boxes"], probs["pred_boxes"])
    assert probs["pred_scores"].shape == (2,)
    assert len(probs["distill_feat_list"]) == tiny_model.config.depth


def test_template_tokens_never_see_the_search_image(tiny_model):
    t, o, s = inputs(tiny_model.config, 1)
    n_t = 2 * tiny_model.config.num_template_tokens
    with torch.no_grad():
        a = tiny_model(t, o, s)["distill_feat_list"][-1]
        b = tiny_model(t, o, torch.randn_like(s))["distill_feat_list"][-1]
    torch.testing.assert_close(a[:, :n_t], b[:, :n_t])
    assert not torch.allclose(a[:, n_t:], b[:, n_t:])


def test_zero_gamma_block_is_exact_identity_and_removable(tiny_config):
    model = build_model(tiny_config.replace(depth=3)).eval()
    pruned = build_model(tiny_config.replace(depth=2)).eval()
    state = model.state_dict()
    kept = {k: v for k, v in state.items() if not k.startswith("backbone.blocks.1.")}
    kept = {k.replace("backbone.blocks.2.", "backbone.blocks.1."): v for k, v in kept.items()}
    pruned.load_state_dict(kept, strict=True)
    t, o, s = inputs(tiny_config, 2)
    with torch.no_grad():
        gated = model(t, o, s, block_gammas=[1.0, 0.0, 1.0])
        removed = pruned(t, o, s)
        cached = model.forward_search(s, model.backbone.encode_templates(t, o, [1.0, 0.0, 1.0]), block_gammas=[1.0, 0.0, 1.0])
    assert_outputs_close(gated, removed, atol=1e-6)
    assert_outputs_close(gated, cached)


def test_drop_path_only_in_training(tiny_config):
    model = build_model(tiny_config.replace(drop_path_rate=0.5))
    t, o, s = inputs(tiny_config, 4)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(t, o, s)["pred_boxes"], model(t, o, s)["pred_boxes"])
    model.train()
    torch.manual_seed(0)
    first = model(t, o, s)["pred_boxes"]
    torch.manual_seed(1)
    assert not torch.allclose(first, model(t, o, s)["pred_boxes"])


@pytest.mark.parametrize("online_templates", [1, 2])
@pytest.mark.parametrize("config", [ModelConfig.tiny(), ModelConfig.tiny(score_head=False)], ids=["score", "no_score"])
def test_trimmed_last_block_gives_the_untrimmed_outputs(config, online_templates):
    torch.manual_seed(3)
    model = build_model(config).eval()
    t, o, s = inputs(model.config, 3)
    onlines = [o, torch.randn_like(o)][:online_templates]
    with torch.no_grad():
        kv = model.encode_templates(t, onlines)
        full = model.forward_search(s, kv)
        trimmed = model.forward_search(s, kv, trim_last_block=True)
    keys = ["pred_boxes", "prob_l", "prob_r", "prob_t", "prob_b"] + (["pred_scores"] if config.score_head else [])
    for key in keys:
        torch.testing.assert_close(trimmed[key], full[key], atol=1e-5, rtol=0)
    num_reg, depth = model.config.num_reg_tokens, model.config.depth
    assert full["search_feat_list"][-1].shape[1] == model.config.num_search_tokens + num_reg
    assert trimmed["search_feat_list"][-1].shape[1] == num_reg
    for index in range(depth - 1):  # the blocks before the last are untouched
        torch.testing.assert_close(trimmed["search_feat_list"][index], full["search_feat_list"][index], atol=0, rtol=0)


def test_trimmed_last_block_with_pruning_gammas(tiny_config):
    model = build_model(tiny_config.replace(depth=3)).eval()
    t, o, s = inputs(tiny_config, 2)
    gammas = [1.0, 0.3, 0.0]  # a decaying last block still scales both branches of the trimmed tokens
    with torch.no_grad():
        kv = model.backbone.encode_templates(t, o, gammas)
        full = model.forward_search(s, kv, block_gammas=gammas)
        trimmed = model.forward_search(s, kv, block_gammas=gammas, trim_last_block=True)
    assert_outputs_close(full, trimmed)


def test_query_attention_is_what_the_prediction_tokens_attend_with(tiny_model):
    """Probabilities from ``query_attention`` rebuild the last block's attention output of the four tokens."""
    t, o, s = inputs(tiny_model.config, 2)
    block = tiny_model.backbone.blocks[-1]
    with torch.no_grad():
        x = tiny_model.backbone(t, o, s)[-2]
        probs = block.query_attention(x, 4)
        _, _, v = block.attn._split_heads(block.norm1(x))
        rebuilt = block.attn._merge_heads(probs @ v)
        expected = block.attn(block.norm1(x), 2 * tiny_model.config.num_template_tokens)[:, -4:]
    assert probs.shape == (2, tiny_model.config.num_heads, 4, x.shape[1])
    torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]))
    torch.testing.assert_close(rebuilt, expected, atol=1e-5, rtol=0)
