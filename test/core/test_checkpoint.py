"""Official-format strict loading, our self-describing format, and readable errors for wrong files."""
from __future__ import annotations

import pytest
import torch

from mixformerv2_core import CheckpointError, build_model, load_model, read_checkpoint, save_checkpoint
from mixformerv2_core.checkpoint import save_official_format


class TrainerSettings:  # stands in for objects the official trainer pickles next to the weights
    def __init__(self):
        self.env = {"workspace": "/somewhere"}


def same_outputs(a, b, config):
    t = torch.randn(1, 3, config.template_size, config.template_size)
    s = torch.randn(1, 3, config.search_size, config.search_size)
    with torch.no_grad():
        x, y = a(t, t, s), b(t, t, s)
    return torch.equal(x["pred_boxes"], y["pred_boxes"]) and torch.equal(x["pred_scores"], y["pred_scores"])


def test_official_small_checkpoint_loads_strictly_and_is_recognised(tmp_path):
    model = build_model("S").eval()
    path = save_official_format(model, tmp_path / "mixformerv2_small.pth.tar")
    loaded = read_checkpoint(path)
    assert loaded.source == "official" and loaded.variant == "S"
    assert same_outputs(model, load_model(path, variant="S"), model.config)


def test_official_training_checkpoint_with_pickled_objects_and_ddp_prefix(tmp_path, tiny_model):
    state = {f"module.{k}": v for k, v in tiny_model.state_dict().items()}
    path = tmp_path / "MixFormer_ep0500.pth.tar"
    torch.save({"epoch": 500, "net": state, "settings": TrainerSettings(), "net_type": "MixFormer"}, path)
    # The custom class cannot be loaded with weights_only=True; our reader still gets the weights, inertly.
    with pytest.raises(Exception):
        torch.load(path, weights_only=True)
    loaded = read_checkpoint(path)
    assert loaded.config.embed_dim == 64 and loaded.config.depth == 2
    model = load_model(path)
    assert torch.equal(model.state_dict()["box_head.layers.1.0.weight"], tiny_model.state_dict()["box_head.layers.1.0.weight"])


def test_own_format_rebuilds_config_and_keeps_tracker_defaults(tmp_path, tiny_model):
    path = save_checkpoint(tiny_model, tmp_path / "m.pt", tracker_defaults={"search_factor": 4.0}, meta={"seed": 3})
    loaded = read_checkpoint(path)
    assert loaded.source == "ours" and loaded.config == tiny_model.config
    assert loaded.tracker_defaults == {"search_factor": 4.0} and loaded.meta == {"seed": 3}
    assert same_outputs(tiny_model, load_model(path), tiny_model.config)
    assert not list(tmp_path.glob(".m.pt.*")), "atomic save left a temporary file"


def test_wrong_variant_names_what_it_looks_like_and_the_differing_keys(tmp_path):
    path = save_official_format(build_model("S"), tmp_path / "small.pth.tar")
    with pytest.raises(CheckpointError) as error:
        load_model(path, variant="B")
    message = str(error.value)
    assert "MixFormerV2-S" in message and "requested MixFormerV2-B" in message
    assert "backbone.blocks.4.norm1.weight" in message and "backbone.pos_embed_s (1, 196, 768) != (1, 324, 768)" in message


def test_missing_corrupt_and_foreign_files_get_clear_errors(tmp_path, tiny_model):
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "absent.pth.tar")
    corrupt = tmp_path / "corrupt.pth.tar"
    good = save_checkpoint(tiny_model, tmp_path / "good.pt")
    corrupt.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_model(corrupt)
    notes = tmp_path / "notes.pth"
    torch.save({"epoch": 3, "lr": 0.1}, notes)
    with pytest.raises(CheckpointError, match="holds no state dict"):
        load_model(notes)
    teacher_like = tmp_path / "mixvit.pth.tar"
    torch.save({"net": {"backbone.cls_token": torch.zeros(1, 1, 8), "box_head.conv1_tl.0.weight": torch.zeros(1)}}, teacher_like)
    with pytest.raises(CheckpointError, match="MixViT"):
        load_model(teacher_like)


def test_truncated_state_dict_lists_missing_keys(tmp_path, tiny_model):
    state = tiny_model.state_dict()
    del state["score_head.layers.1.bias"]
    path = tmp_path / "partial.pth.tar"
    torch.save({"net": state}, path)
    with pytest.raises(CheckpointError, match="missing keys: score_head.layers.1.bias"):
        load_model(path)
