"""The tiny route trained once per test session: its stages are slow (minutes of CPU), so the learning proof
(test_learning.py) and the end-to-end route (test_route.py) share them. Each stage runs its shipped preset
(`tiny_*.yaml`) with output and checkpoint paths moved into the session's temporary directory.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mixformerv2_training.config import load_config
from mixformerv2_training.trainer import Trainer

EASY_SCENES = {"num_distractors": 0, "occlusion": False}  # what the tiny presets train on


def read_log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def run_preset(preset: str, run_dir: Path, previous: Path | None = None, *overrides: str) -> Path:
    """Train one stage; ``previous`` (a final.pt) becomes its teacher and / or initial weights as in the preset."""
    config = load_config(preset, [f"output_dir={run_dir}", *overrides])
    if previous is not None:
        if config["teacher"]["checkpoint"]:
            config["teacher"]["checkpoint"] = str(previous)
        config["init"]["checkpoint"] = str(previous)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread wastes no CPU on spinning workers
    try:
        summary = Trainer(config).fit()
    finally:
        torch.set_num_threads(threads)
    assert summary["stopped_by"] is None
    return Path(summary["final"])


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory) -> Path:
    """The trained tiny MixViT teacher's run folder."""
    run_dir = tmp_path_factory.mktemp("tiny_teacher")
    run_preset("tiny_teacher", run_dir)
    return run_dir


@pytest.fixture(scope="session")
def tiny_student(tmp_path_factory, tiny_teacher) -> Path:
    """The dense-to-sparse student's run folder (4 blocks, distilled from the tiny teacher)."""
    run_dir = tmp_path_factory.mktemp("tiny_dense_to_sparse")
    run_preset("tiny_dense_to_sparse", run_dir, tiny_teacher / "final.pt")
    return run_dir
