"""The one CLI wrapper: expected failures are one line and exit 2; checks of outputs happen up front."""
from __future__ import annotations

import argparse
import os

import pytest

from mixformerv2_core import CheckpointError
from mixformerv2_core.cli.runner import command_main, run_command, writable_dir, writable_file
from mixformerv2_core.errors import InputError, MixFormerV2Error


def test_expected_failures_become_one_line_and_exit_2(capsys):
    def fail():
        raise CheckpointError("weights file not found:\n  /x.pt")

    assert run_command("prog", fail) == 2
    assert capsys.readouterr().err == "prog: error: weights file not found: /x.pt\n"
    assert run_command("prog", lambda: open("/no/such/file")) == 2
    assert capsys.readouterr().err == "prog: error: /no/such/file: No such file or directory\n"
    assert run_command("prog", lambda: None) == 0 and run_command("prog", lambda: 3) == 3


def test_bugs_keep_their_traceback():
    with pytest.raises(ZeroDivisionError):
        run_command("prog", lambda: 1 / 0)


def test_checkpoint_errors_share_the_root():
    assert issubclass(CheckpointError, InputError) and issubclass(InputError, MixFormerV2Error)
    assert issubclass(CheckpointError, ValueError)  # existing callers catching ValueError keep working


def test_argument_errors_and_run_errors_look_alike(capsys):
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--n", type=int, required=True)
    with pytest.raises(SystemExit) as exit_info:
        command_main(parser, lambda args: 0, ["--n", "x"])
    assert exit_info.value.code == 2 and capsys.readouterr().err.splitlines()[-1].startswith("tool: error:")

    def run(args):
        raise InputError(f"n={args.n} is too large")

    assert command_main(parser, run, ["--n", "5"]) == 2
    assert capsys.readouterr().err == "tool: error: n=5 is too large\n"


def test_outputs_are_checked_before_work(tmp_path):
    assert writable_file(tmp_path / "new" / "out.txt") == tmp_path / "new" / "out.txt"
    assert (tmp_path / "new").is_dir()
    with pytest.raises(InputError, match="is a directory"):
        writable_file(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        writable_dir(tmp_path / "file")
    if os.geteuid() != 0:  # root writes anywhere; the permission check is only observable for other users
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(InputError, match="permission denied"):
            writable_file(locked / "out.txt")
    with pytest.raises(InputError, match="cannot create"):
        writable_file(tmp_path / "file" / "sub" / "out.txt")
