"""Shared fixtures: tiny random-weight networks and checkpoints (no downloads, no trained weights needed)."""
from __future__ import annotations

# The core first: importing it sets OMP_WAIT_POLICY=PASSIVE before torch loads OpenMP, as in every product entry
# point. With torch first, idle OpenMP threads busy-wait and starve the node's other threads (measured: a tiny
# model's add() took 0.7-2.2 s instead of 1 ms under an init storm).
from mixformerv2_core import ModelConfig, build_model, save_checkpoint  # isort: skip

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


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
