"""One table of tracker defaults per variant, one precedence: user > preset > checkpoint > variant table."""
from __future__ import annotations

import pytest
import torch

from mixformerv2_core import ModelConfig, VARIANTS, build_model, resolve_params, save_checkpoint
from mixformerv2_core.config import VARIANT_TRACKING, tracking_defaults, tracking_family, training_crop_defaults
from mixformerv2_core.tracker import load_tracker


def test_released_variants_and_their_route_intermediates_share_a_row():
    s_route_student = VARIANTS["S"].replace(depth=12, mlp_ratio=4.0, score_head=False)
    assert tracking_family(VARIANTS["S"]) == "S" and tracking_family(s_route_student) == "S"
    assert tracking_family(VARIANTS["B"].replace(depth=12)) == "B"
    assert tracking_family(ModelConfig.tiny()) is None
    assert tracking_defaults(s_route_student).search_factor == 4.4
    assert training_crop_defaults(16, 112, 224) == {"template_factor": 2.0, "search_factor": 4.5}
    assert training_crop_defaults(16, 128, 288) == {"template_factor": 2.0, "search_factor": 5.0}


@pytest.mark.parametrize("variant", ["B", "S"])
def test_precedence_user_over_preset_over_checkpoint_over_variant(variant):
    config, row = VARIANTS[variant], VARIANT_TRACKING[variant]
    plain = resolve_params(config)
    assert (plain.search_factor, plain.template_factor, plain.update_interval, plain.update_threshold) == (
        row.search_factor, row.template_factor, row.update_interval, row.update_threshold)
    stored = {"search_factor": 3.3, "update_interval": 77}
    from_checkpoint = resolve_params(config, checkpoint_defaults=stored)
    assert (from_checkpoint.search_factor, from_checkpoint.update_interval) == (3.3, 77)
    preset = row.presets["got10k_test"]
    with_preset = resolve_params(config, "got10k_test", checkpoint_defaults=stored)
    assert (with_preset.search_factor, with_preset.update_interval) == (preset["search_factor"],
                                                                         preset["update_interval"])
    user = resolve_params(config, "got10k_test", checkpoint_defaults=stored, update_interval=9, search_factor=None)
    assert (user.search_factor, user.update_interval) == (preset["search_factor"], 9)  # None = not set


def test_s_preset_got10k_keeps_its_update_interval_through_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    path = save_checkpoint(build_model("S"), tmp_path / "s.pt", tracker_defaults={"update_interval": 50})
    tracker = load_tracker(str(path), preset="got10k_test")
    assert (tracker.params.search_factor, tracker.params.update_interval) == (4.55, 15)
    assert load_tracker(str(path)).params.update_interval == 50


def test_the_crop_spec_is_what_picks_the_row():
    """Backends hand the tracker only a CropSpec; it resolves exactly as the full ModelConfig it came from."""
    from mixformerv2_core.config import CropSpec

    for config in (VARIANTS["B"], VARIANTS["S"], VARIANTS["S"].replace(depth=12, mlp_ratio=4.0), ModelConfig.tiny()):
        spec = config.crop_spec
        assert spec == CropSpec(config.patch_size, config.template_size, config.search_size)
        assert spec.family == tracking_family(config) and tracking_defaults(spec) is tracking_defaults(config)
        for preset in (None, "got10k_test") if spec.family else (None,):
            assert resolve_params(spec, preset, {"update_interval": 9}) == resolve_params(config, preset,
                                                                                          {"update_interval": 9})
    assert resolve_params(VARIANTS["S"].crop_spec, "got10k_test").search_factor == 4.55
