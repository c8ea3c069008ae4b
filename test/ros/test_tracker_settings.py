"""The same user inputs give the same tracker settings through the node (real rclpy, read back on
/diagnostics as ``tracker.<name>``), ``mixformerv2-track``, ``mixformerv2-eval`` and offline
``mixformerv2-replay`` (each prints the line ``tracker settings: ...``), and the core: user-set > preset >
checkpoint's stored defaults > variant default.
"""
from __future__ import annotations

import re

import pytest
import torch

from mixformerv2_core import MultiTargetTracker, build_model, save_checkpoint
from mixformerv2_core.cli import eval as eval_cli
from mixformerv2_core.cli import track as track_cli
from mixformerv2_core.config import VARIANTS
from mixformerv2_ros import make_bag, replay

from evaluation.conftest import write_otb_tree

SETTINGS = ("search_factor", "template_factor", "update_interval", "update_threshold", "tight_search_factor")


@pytest.fixture(scope="module")
def s_weights(tmp_path_factory):
    """MixFormerV2-S with random weights, and the same network with tracker defaults stored in the file."""
    torch.manual_seed(0)
    model = build_model(VARIANTS["S"])
    folder = tmp_path_factory.mktemp("s_weights")
    plain = save_checkpoint(model, folder / "s.pt")
    stored = save_checkpoint(model, folder / "s_stored.pt", tracker_defaults={"update_interval": 25,
                                                                               "search_factor": 4.5,
                                                                               "lost_threshold": 0.4,
                                                                               "tight_search_factor": 3.0})
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
    "user_turns_the_stored_tight_window_off": ("stored", {"tight_search_factor": 0.0}, {"tight_search_factor": 0.0},
                                               ("4.5", "25")),
    "user_over_everything": ("stored", {"preset": "vot20", "search_factor": 4.0, "update_threshold": 0.7},
                             {"preset": "vot20", "search_factor": 4.0, "update_threshold": 0.7}, ("4.0", "10")),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A one-sequence OTB tree (no preset of its own) and a generated bag (no recorded source dataset)."""
    folder = tmp_path_factory.mktemp("inputs")
    write_otb_tree(folder / "otb", seeds=(0,), num_frames=3)
    assert make_bag.main(["--synthetic", "1", "--frames", "3", "--out", str(folder / "bag")]) == 0
    return folder


def _flags(settings: dict) -> list[str]:
    return [arg for name, value in settings.items() for arg in (f"--{name.replace('_', '-')}", str(value))]


def _printed_settings(capsys) -> dict:
    out = capsys.readouterr().out
    line = re.search(r"^tracker settings: (.*)$", out, re.MULTILINE)
    assert line, out
    return dict(item.split(" ") for item in line.group(1).split(", "))


def _command_settings(command: str, weights: str, flags: list[str], inputs, tmp_path, capsys) -> dict:
    out = str(tmp_path / command)
    if command == "mixformerv2-track":
        rc = track_cli.main(["--weights", weights, "--input", "synthetic:1", "--max-frames", "2", "--no-progress",
                             *flags])
    elif command == "mixformerv2-eval":
        rc = eval_cli.main(["--checkpoint", weights, "--dataset", "otb", "--root", str(inputs / "otb"),
                            "--out", out, "--no-progress", *flags])
    else:
        rc = replay.main(["--bag", str(inputs / "bag"), "--out", out, "--checkpoint", weights, *flags])
    assert rc == 0, capsys.readouterr()
    return _printed_settings(capsys)


@pytest.mark.parametrize("case", sorted(CASES))
def test_node_and_commands_resolve_like_the_core(make_harness, s_weights, inputs, tmp_path, capsys, case):
    checkpoint, parameters, core_kwargs, (search_factor, update_interval) = CASES[case]
    core = _core_settings(s_weights[checkpoint], **core_kwargs)
    assert (core["search_factor"], core["update_interval"]) == (search_factor, update_interval)
    resolved = {"node": _node_settings(make_harness, weights=s_weights[checkpoint], **parameters)}
    for command in ("mixformerv2-track", "mixformerv2-eval", "mixformerv2-replay"):
        resolved[command] = _command_settings(command, s_weights[checkpoint], _flags(core_kwargs), inputs, tmp_path,
                                              capsys)
    assert resolved == {where: core for where in resolved}


@pytest.mark.parametrize("checkpoint, parameters, expected", [
    ("plain", {}, "0.25"),  # the tracker's default
    ("stored", {}, "0.4"),  # a model's own threshold, as the built-in model stores the one its score curve gives
    ("stored", {"lost_threshold": 0.3}, "0.3"),  # what the user set wins
])
def test_node_takes_the_lost_threshold_the_checkpoint_stores(make_harness, s_weights, checkpoint, parameters,
                                                             expected):
    harness = make_harness(weights=s_weights[checkpoint], **parameters)
    _, values = harness.latest_diagnostics(lambda v: "tracker.lost_threshold" in v, timeout=60.0)
    assert values["tracker.lost_threshold"] == expected
    assert str(MultiTargetTracker.from_checkpoint(s_weights[checkpoint], **parameters).params.lost_threshold) \
        == expected
