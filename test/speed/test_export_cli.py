"""mixformerv2-export writes ONNX bundles and both checkpoint layouts, and fails cleanly on bad input."""
from __future__ import annotations

import json

import pytest

from mixformerv2_core import read_checkpoint
from mixformerv2_core.backends import create_backend
from mixformerv2_core.cli.export import main
from mixformerv2_core.cpu_features import FLAGS_ENV
from mixformerv2_core.export.quantize import SAFE_RECIPE, VNNI_RECIPE


def test_onnx_bundles_with_int8(tiny_checkpoint, tmp_path, capsys):
    assert main(["--weights", str(tiny_checkpoint), "--output", str(tmp_path), "--int8"]) == 0
    printed = capsys.readouterr().out
    assert "fp32 ONNX (opset 17)" in printed and "int8 ONNX" in printed
    for precision in ("fp32", "int8"):
        manifest = json.loads((tmp_path / precision / "manifest.json").read_text())
        assert manifest["report"]["precision"] == precision
        backend = create_backend("onnx", read_checkpoint(tiny_checkpoint), precision=precision,
                                 bundle_dir=str(tmp_path / precision))
        assert backend.config == read_checkpoint(tiny_checkpoint).config


def test_int8_recipe_follows_the_cpu_or_the_request(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    def recipe(directory):
        return json.loads((directory / "int8" / "manifest.json").read_text())["meta"]["int8_recipe"]

    monkeypatch.setenv(FLAGS_ENV, "avx2 fma")  # an AVX2-only CPU (Zen 3 kind)
    assert main(["--weights", str(tiny_checkpoint), "--output", str(tmp_path / "a"), "--int8", "--no-check"]) == 0
    assert recipe(tmp_path / "a") == SAFE_RECIPE and f"for this CPU (avx2 (avx2 fma)): {SAFE_RECIPE}" in capsys.readouterr().out
    monkeypatch.setenv(FLAGS_ENV, "avx2 fma avx512f avx512_vnni")
    assert main(["--weights", str(tiny_checkpoint), "--output", str(tmp_path / "b"), "--int8", "--no-check"]) == 0
    assert recipe(tmp_path / "b") == VNNI_RECIPE
    # asked for: written whatever the CPU (and --int8-recipe implies --int8)
    assert main(["--weights", str(tiny_checkpoint), "--output", str(tmp_path / "c"), "--no-check",
                 "--int8-recipe", SAFE_RECIPE]) == 0
    assert recipe(tmp_path / "c") == SAFE_RECIPE
    with pytest.raises(SystemExit) as refused:
        main(["--weights", str(tiny_checkpoint), "--output", str(tmp_path / "d"), "--int8-recipe", "w4"])
    assert refused.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_checkpoint_formats(tiny_checkpoint, tmp_path):
    ours = tmp_path / "ours.pt"
    assert main(["--weights", str(tiny_checkpoint), "--format", "checkpoint", "--output", str(ours),
                 "--search-factor", "4.5", "--update-interval", "25", "--lost-threshold", "0.35",
                 "--reacquire-threshold", "0.4"]) == 0
    loaded = read_checkpoint(ours)
    assert loaded.source == "ours"
    assert loaded.tracker_defaults == {"search_factor": 4.5, "update_interval": 25, "lost_threshold": 0.35,
                                       "reacquire_threshold": 0.4}
    official = tmp_path / "official.pth.tar"
    assert main(["--weights", str(ours), "--format", "official", "--output", str(official)]) == 0
    again = read_checkpoint(official)
    assert again.source == "official"  # no config inside: the layout is read off the shapes
    assert again.config.replace(num_heads=loaded.config.num_heads) == loaded.config
    for key, value in loaded.state_dict.items():
        assert again.state_dict[key].equal(value)


def test_errors_exit_with_a_message(tiny_checkpoint, tmp_path, capsys):
    assert main(["--weights", str(tiny_checkpoint), "--format", "checkpoint", "--output", str(tmp_path / "t.pt"),
                 "--lost-threshold", "1.5"]) == 2
    assert "lost_threshold must lie in [0, 1]" in capsys.readouterr().err and not (tmp_path / "t.pt").exists()
    assert main(["--weights", str(tiny_checkpoint), "--format", "checkpoint", "--output", str(tmp_path / "t.pt"),
                 "--lost-threshold", "0.3", "--reacquire-threshold", "0.2"]) == 2
    assert "reacquire_threshold must lie in [lost_threshold, 1]" in capsys.readouterr().err
    assert not (tmp_path / "t.pt").exists()
    assert main(["--weights", str(tmp_path / "missing.pt"), "--output", str(tmp_path / "x")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["--weights", str(tiny_checkpoint), "--variant", "B", "--output", str(tmp_path / "x")]) == 2
    assert "not the requested" in capsys.readouterr().err
