"""The optional target-attention term of the student stages: what it reads, and that it trains where tokens look."""
import pytest
import torch

from mixformerv2_training import losses
from mixformerv2_training.config import load_config
from mixformerv2_training.stages import build_stage

from .test_route import STUDENT


def _stage(tmp_path, weight, target="box"):
    config = load_config("tiny_teacher", ["stage=student", STUDENT, f"output_dir={tmp_path}",
                                          f"train.loss_weights.attn={weight}", f"train.target_attention={target}"])
    return build_stage(config)


def _batch(config, batch=3):
    g = torch.Generator().manual_seed(0)
    t, s = config.template_size, config.search_size
    return {"template_images": torch.randn(batch, 2, 3, t, t, generator=g),
            "search_images": torch.randn(batch, 3, s, s, generator=g),
            "search_anno": torch.tensor([[0.3, 0.3, 0.3, 0.2], [0.0, 0.5, 0.5, 0.5], [0.6, 0.1, 0.3, 0.6]])}


@pytest.mark.parametrize("target, cells", [("box", losses.box_cell_coverage), ("edges", losses.box_edge_cells)])
def test_the_term_is_the_last_blocks_attention_mass_on_the_target(tmp_path, target, cells):
    stage = _stage(tmp_path, 0.5, target)
    config = stage.model.config
    batch = _batch(config)
    terms = stage.losses(stage.model, batch)
    with torch.no_grad():
        t = batch["template_images"]
        features = stage.model(t[:, 0], t[:, 1], batch["search_images"])["distill_feat_list"]
        probs = stage.model.backbone.blocks[-1].query_attention(features[-2], 4)
        first = 2 * config.num_template_tokens  # keys: [template, online template, search, tokens]
        expected = losses.target_attention(probs[..., first:first + config.num_search_tokens],
                                           cells(batch["search_anno"], config.search_grid))
        box_only = stage._box_terms(stage.model(t[:, 0], t[:, 1], batch["search_images"])["pred_boxes"], batch)
    torch.testing.assert_close(terms["attn"].detach(), expected)
    torch.testing.assert_close(terms["total"].detach(), box_only["total"] + 0.5 * expected)


def descend(stage, batch, term, optimiser, steps=20):
    """The loss term ``term`` before and after ``steps`` optimiser steps on it alone."""
    before = stage.losses(stage.model, batch)[term].item()
    for _ in range(steps):
        optimiser.zero_grad()
        stage.losses(stage.model, batch)[term].backward()
        optimiser.step()
    return before, stage.losses(stage.model, batch)[term].item()


def test_descending_the_term_moves_the_tokens_attention_onto_the_target(tmp_path):
    stage = _stage(tmp_path, 1.0)
    before, after = descend(stage, _batch(stage.model.config), "attn", torch.optim.SGD(stage.model.parameters(), lr=0.5))
    assert after < 0.5 * before


def test_without_a_weight_there_is_no_term(tmp_path):
    stage = _stage(tmp_path, 0.0)
    assert "attn" not in stage.losses(stage.model, _batch(stage.model.config))


def test_an_unknown_target_is_refused_when_the_config_loads(tmp_path):
    with pytest.raises(ValueError, match="target_attention 'corners'"):
        _stage(tmp_path, 1.0, "corners")


def test_a_one_block_student_with_the_term_is_refused_when_the_stage_is_built(tmp_path):
    config = load_config("tiny_teacher", ["stage=student", STUDENT, "model.depth=1", f"output_dir={tmp_path}",
                                          "train.loss_weights.attn=1.0"])
    with pytest.raises(ValueError, match="at least two blocks, this one has 1"):
        build_stage(config)
    config["train"]["loss_weights"]["attn"] = 0.0
    assert build_stage(config).model.config.depth == 1

