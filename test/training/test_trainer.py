"""Trainer behaviour: resume after SIGTERM equals an uninterrupted run; a run is never started over another;
checkpoints; config errors.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from mixformerv2_core import read_checkpoint
from mixformerv2_training.cli import main as cli_main
from mixformerv2_training.config import load_config

ROOT = Path(__file__).resolve().parents[2]

TINY_RUN = {
    "stage": "student",
    "seed": 3,
    "model": {"embed_dim": 32, "depth": 2, "num_heads": 2, "mlp_ratio": 2.0, "template_size": 32, "search_size": 64,
              "feat_sz": 16, "head_hidden_dim": 32, "drop_path_rate": 0.2},  # drop-path uses the torch RNG
    "data": {"datasets": [{"type": "synthetic", "num_sequences": 6, "num_frames": 30, "frame_size": [96, 128]}],
             "samples_per_epoch": 48, "batch_size": 4, "num_workers": 0, "max_gap": 10},
    "train": {"epochs": 2, "lr": 1e-3, "log_interval": 1, "lr_drop_epoch": 1},
}


def _cli(config_path, out_dir, *extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "mixformerv2_training.cli", "--config", str(config_path),
                             "--threads", "1", "--output-dir", str(out_dir), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _weights(run_dir):
    return read_checkpoint(run_dir / "final.pt").state_dict


def test_resume_after_sigterm_equals_uninterrupted_run(tmp_path):
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(TINY_RUN))
    straight = _cli(config_path, tmp_path / "straight")
    assert straight.wait(timeout=300) == 0, straight.stdout.read()

    interrupted = _cli(config_path, tmp_path / "cut")
    log = tmp_path / "cut" / "log.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline:  # kill it in the middle of the first epoch (12 steps per epoch)
        if log.exists() and len(log.read_text().splitlines()) >= 5:
            break
        time.sleep(0.05)
    interrupted.send_signal(signal.SIGTERM)
    assert interrupted.wait(timeout=120) == 130
    state = torch.load(tmp_path / "cut" / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)  # data only
    assert 5 <= state["global_step"] < 24 and not (tmp_path / "cut" / "final.pt").exists()
    assert not [p for p in (tmp_path / "cut" / "checkpoints").iterdir() if p.name.startswith(".")]  # no half files

    for run, held in (("cut", "checkpoints/last.pt"), ("straight", "final.pt")):  # --resume forgotten: nothing lost
        kept = {path: path.read_bytes() for path in (tmp_path / run).rglob("*.pt")}
        again = _cli(config_path, tmp_path / run)
        output = again.communicate(timeout=120)[0]
        assert again.returncode == 2 and "already holds a run" in output and held in output, output
        assert "Traceback" not in output and "--resume continues it" in output, output
        assert {path: path.read_bytes() for path in (tmp_path / run).rglob("*.pt")} == kept

    resumed = _cli(config_path, tmp_path / "cut", "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "cut")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from the uninterrupted run"
    steps = [json.loads(line)["step"] for line in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()]
    assert steps[-1] == 24


def _rate_per_epoch(run_dir):
    return {record["epoch"]: record["lr"] for record in map(json.loads, (run_dir / "log.jsonl").read_text().splitlines())}


def test_a_resumed_run_follows_the_configured_learning_rate_schedule(tmp_path):
    """A finished run continued for more epochs with a later drop gets its rate back (the checkpoint's scheduler
    used to keep the old drop epoch and ignore the setting); continued with the same schedule it keeps dropping.
    """
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(TINY_RUN))  # 2 epochs, the rate x0.1 after each
    first = _cli(config_path, tmp_path / "run")
    assert first.wait(timeout=300) == 0, first.stdout.read()
    shutil.copytree(tmp_path / "run", tmp_path / "same")

    later_drop = _cli(config_path, tmp_path / "run", "--resume", "train.epochs=3", "train.lr_drop_epoch=5")
    output = later_drop.communicate(timeout=300)[0]
    assert later_drop.returncode == 0, output
    assert "configured learning-rate schedule (drop after epoch 5, factor 0.1; the checkpoint's: after 1" in output
    rates = _rate_per_epoch(tmp_path / "run")
    assert rates[1] == 1e-3 and rates[2] == pytest.approx(1e-4) and rates[3] == 1e-3

    same = _cli(config_path, tmp_path / "same", "--resume", "train.epochs=3")
    output = same.communicate(timeout=300)[0]
    assert same.returncode == 0 and "learning-rate schedule" not in output, output
    assert _rate_per_epoch(tmp_path / "same")[3] == pytest.approx(1e-5)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_the_process_group_with_loader_workers_checkpoints_cleanly(tmp_path, signum):
    """A SIGTERM to the whole group (a service or container stopping, a batch system) or a terminal's Ctrl-C
    reaches the loader workers too; the run must still stop after its step, save and exit 130 without a
    traceback, and leave no worker behind.
    """
    run = {**TINY_RUN, "data": {**TINY_RUN["data"], "num_workers": 1}}
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(run))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-m", "mixformerv2_training.cli", "--config", str(config_path),
                                "--threads", "1", "--output-dir", str(tmp_path / "run")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    log = tmp_path / "run" / "log.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 5):
        time.sleep(0.05)
    os.killpg(process.pid, signum)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 130, output
    assert "Traceback" not in output and "killed by signal" not in output, output
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert 5 <= state["global_step"] < 24
    deadline = time.time() + 30
    while time.time() < deadline:  # the worker follows its trainer out
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("a loader worker outlived the trainer")


def test_config_errors_are_reported(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown keys in 'train'"):
        load_config(TINY_RUN, ["train.epochz=3"])
    with pytest.raises(ValueError, match="unknown stage"):
        load_config({**TINY_RUN, "stage": "fly"})
    assert load_config(TINY_RUN, ["train.epochs=5"])["train"]["epochs"] == 5
    for bad in ("train.lr_drop_epoch=0", "train.epochs=-1", "train.lr_drop_epoch=2.5"):
        with pytest.raises(ValueError, match="must be a whole number >= 1"):
            load_config(TINY_RUN, [bad])
    assert cli_main(["--config", str(tmp_path / "nope.yaml")]) == 2
    assert "neither a file nor a preset" in capsys.readouterr().err
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(TINY_RUN))
    assert cli_main(["--config", str(config_path), "--output-dir", str(tmp_path / "none"), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
