"""What mixformerv2-train shows a person: a progress bar that moves every step, and a readable summary."""
from __future__ import annotations

import io
import time

import yaml

from mixformerv2_training.cli import main as cli_main
from mixformerv2_training.trainer import progress_bar

from .test_trainer import TINY_RUN


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_redraws_after_every_step_on_a_terminal():
    screen = _Terminal()
    total = 12

    def batches():
        for index in range(total):
            if index >= 4:
                time.sleep(0.03)  # first batches come at once (prefetched), later ones take time
            yield index

    for _ in progress_bar(batches(), "epoch 1/1", total, stream=screen):
        pass
    shown = screen.getvalue()
    assert all(f"{step}/{total}" in shown for step in range(1, total + 1)), shown


def test_training_summary_is_a_table_with_the_epochs_done(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY_RUN, "train": {**TINY_RUN["train"], "epochs": 2}}))
    assert cli_main(["--config", str(config), "--threads", "1", "--output-dir", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "{" not in out  # no raw JSON
    lines = dict(line.strip().split("  ", 1) for line in out.splitlines()[1:])
    assert lines["epochs done"].strip() == "2 of 2"
    assert lines["steps"].strip() == "24"
    assert lines["final weights"].strip() == str(tmp_path / "run" / "final.pt")
