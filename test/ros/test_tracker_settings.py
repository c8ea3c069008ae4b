"""The node resolves tracker settings exactly as the core (and mixformerv2-track) does: user-set > preset >
checkpoint's stored defaults > variant default. Read back through /diagnostics (``tracker.<name>``).
"""
from __future__ import annotations

import pytest
import torch

from mixformerv2_core import MultiTargetTracker, build_model, save_checkpoint
from mixformerv2_core.config import VARIANTS

SETTINGS = ("search_factor", "template_factor", "update_interval", "update_threshold")


@pytest.fixture(scope="module")
def s_weights(tmp_path_factory):
    """MixFormerV2-S with random weights, and the same network with tracker defaults stored in the file."""
    torch.manual_seed(0)
    model = build_model(VARIANTS["S"])
    folder = tmp_path_factory.mktemp("s_weights")
    plain = save_checkpoint(model, folder / "s.pt")
    stored = save_checkpoint(model, folder / "s_stored.pt", tracker_defaults={"update_interval": 25,
                                                                               "search_factor": 4.5})
    return {"plain": str(plain), "stored": str(stored)}


def _node_settings(make_harness, **parameters) -> dict:
    harness = make_harness(**parameters)
    _, values = harness.latest_diagnostics(lambda v: "tracker.update_interval" in v, timeout=60.0)
    return {name: values[f"tracker.{name}"] for name in SETTINGS}


def _core_settings(weights: str, preset=None, **overrides) -> dict:
    params = MultiTargetTracker.from_checkpoint(weights, preset=preset, **overrides).params
    return {name: str(getattr(params, name)) for name in SETTINGS}


# (checkpoint, node parameters, core keyword arguments, expected (search_factor, update_interval))
CASES = {
    "nothing_set": ("plain", {}, {}, ("4.4", "200")),
    "preset": ("plain", {"preset": "got10k_test"}, {"preset": "got10k_test"}, ("4.55", "15")),
    "preset_and_one_override": ("plain", {"preset": "got10k_test", "update_interval": 7},
                                {"preset": "got10k_test", "update_interval": 7}, ("4.55", "7")),
    "checkpoint_defaults": ("stored", {}, {}, ("4.5", "25")),
    "preset_over_checkpoint": ("stored", {"preset": "got10k_test"}, {"preset": "got10k_test"}, ("4.55", "15")),
    "user_over_everything": ("stored", {"preset": "vot20", "search_factor": 4.0, "update_threshold": 0.7},
                             {"preset": "vot20", "search_factor": 4.0, "update_threshold": 0.7}, ("4.0", "10")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_node_resolves_like_the_core(make_harness, s_weights, case):
    checkpoint, parameters, core_kwargs, (search_factor, update_interval) = CASES[case]
    node = _node_settings(make_harness, weights=s_weights[checkpoint], **parameters)
    assert node == _core_settings(s_weights[checkpoint], **core_kwargs)
    assert (node["search_factor"], node["update_interval"]) == (search_factor, update_interval)
