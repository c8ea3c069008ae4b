"""Shared fixtures: tiny random-weight networks and checkpoints (no downloads, no trained weights needed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mixformerv2_core import ModelConfig, build_model, save_checkpoint


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


@pytest.fixture
def tiny_config() -> ModelConfig:
    return ModelConfig.tiny()


@pytest.fixture
def tiny_model(tiny_config):
    torch.manual_seed(1)
    return build_model(tiny_config).eval()


@pytest.fixture
def tiny_checkpoint(tmp_path, tiny_model):
    return save_checkpoint(tiny_model, tmp_path / "tiny.pt")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
