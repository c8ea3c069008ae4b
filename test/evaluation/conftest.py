"""Fixtures for the evaluation tests: a tiny random-weight checkpoint and generated benchmark trees."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mixformerv2_core import ModelConfig, build_model, save_checkpoint
from mixformerv2_core.synthetic import generate_sequence


@pytest.fixture(scope="session")
def eval_checkpoint(tmp_path_factory) -> Path:
    """Random weights: the pipeline is under test here, not tracking quality."""
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(build_model(ModelConfig.tiny()).eval(), path)
    return path


def write_otb_tree(root: Path, seeds=(0, 1, 2), num_frames: int = 10, size=(96, 128)) -> dict[str, np.ndarray]:
    """Generated sequences in the OTB layout (lossless PNG frames); returns name -> ground truth."""
    truth = {}
    for seed in seeds:
        seq = generate_sequence(seed=seed, num_frames=num_frames, frame_size=size)
        name = f"Synth{seed}"
        (root / name / "img").mkdir(parents=True)
        for i, frame in enumerate(seq.frames, start=1):
            cv2.imwrite(str(root / name / "img" / f"{i:04d}.png"), frame[..., ::-1])
        np.savetxt(root / name / "groundtruth_rect.txt", seq.boxes, delimiter=",", fmt="%.2f")
        truth[name] = np.round(seq.boxes, 2)
    return truth


@pytest.fixture(scope="session")
def otb_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("otb")
    write_otb_tree(root)
    return root


@pytest.fixture(scope="module")
def real_video():
    """benchmarks/real_video.py as a module (the benchmarks folder is no package)."""
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("real_video", root / "benchmarks" / "real_video.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
