"""Shared fixtures of the speed tests: small checkpoints and exported bundles, made once per session."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mixformerv2_core import ModelConfig, build_model, save_checkpoint

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="session")
def tiny_model():
    torch.manual_seed(0)
    return build_model(ModelConfig.tiny()).eval()


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model, tmp_path_factory) -> Path:
    return save_checkpoint(tiny_model, tmp_path_factory.mktemp("weights") / "tiny.pt")


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """Bundle cache of the ONNX backend for this test session (never the user's ~/.cache)."""
    return tmp_path_factory.mktemp("onnx_cache")


@pytest.fixture(scope="session")
def small_bundles(tmp_path_factory):
    """MixFormerV2-S (random weights, seed 0): fp32 bundle checked against PyTorch, and its INT8 bundle."""
    from mixformerv2_core.export import export_bundle
    from mixformerv2_core.export.quantize import export_int8_bundle

    torch.manual_seed(0)
    model = build_model("S").eval()
    root = tmp_path_factory.mktemp("S")
    fp32 = export_bundle(model, root / "fp32", check_batches=(1, 3))
    int8 = export_int8_bundle(model, root / "fp32", root / "int8", check_batches=(1, 3))
    return model, root, fp32, int8
