"""The scripts under benchmarks/ fail as the project's commands do (``<script>.py: error: ...``, exit 2, no
traceback), and before their minutes of work: a wrong file or output path is found before anything is measured
and before any process (the ROS benchmarks' node, camera and recorder) is started.

Only error paths run here: no case may reach a benchmark's measurements.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
ROS_ONLY = {"node_soak.py"}  # imports rclpy at the top, as the project's ROS commands do

# (script, other arguments, the option given a wrong path, what is wrong with it)
WRONG_PATHS = [
    ("loader_throughput.py", [], "--config", "missing"),
    ("node_latency.py", [], "--weights", "missing"),
    ("node_latency.py", [], "--json", "a folder"),
    ("precision_accuracy.py", [], "--weights", "missing"),
    ("precision_accuracy.py", [], "--json", "a folder"),
    ("precision_accuracy.py", [], "--cache-dir", "a file"),
    ("pruning_vs_dropping.py", ["--remove", "0", "--out", "{tmp}/out"], "--student", "missing"),
    ("pruning_vs_dropping.py", ["--remove", "0", "--student", "{tmp}/student.pt"], "--out", "a file"),
    ("reacquisition.py", [], "--weights", "missing"),
    ("speed.py", ["--variants", "S"], "--weights-S", "missing"),
    ("speed.py", [], "--json", "a folder"),
    ("speed.py", [], "--cache-dir", "a file"),
    ("speed.py", [], "--official-repo", "missing"),
    ("step_profile.py", [], "--cache-dir", "a file"),
]

# (script, arguments with a value the script refuses before it starts)
WRONG_VALUES = [
    ("loader_throughput.py", ["--batches", "0"]),
    ("model_sizes.py", ["--frames", "0"]),
    ("node_latency.py", ["--sizes", "640x"]),
    ("node_soak.py", ["--reset-every", "0"]),
    ("precision_accuracy.py", ["--backends", "torch", "tensorrt"]),
    ("pruning_vs_dropping.py", ["--student", "s.pt", "--remove", "0", "--frames", "1"]),
    ("reacquisition.py", ["--modes", "hidden", "teleport"]),
    ("speed.py", ["--passes", "0"]),
    ("step_profile.py", ["--backends", "torch", "tensorrt"]),
    ("tracker_speed.py", ["--variants", "S", "XL"]),
]

_loaded: dict[str, object] = {}


def benchmark(script: str):
    """benchmarks/<script> as a module (the folder is no package), loaded once per session."""
    if script in ROS_ONLY:
        pytest.importorskip("rclpy", reason="the ROS benchmarks need `source .ros_env/setup.sh`")
    if script not in _loaded:
        name = f"benchmark_{Path(script).stem}"
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / script)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        path = list(sys.path)
        spec.loader.exec_module(module)
        sys.path[:] = path  # node_soak.py adds benchmarks/ to import tracker_speed.py: no other test sees it
        _loaded[script] = module
    return _loaded[script]


@pytest.fixture
def no_processes(monkeypatch):
    """Starting any process (a ROS node, a camera, lscpu) fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a benchmark started a process before failing: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def wrong_path(tmp_path: Path, option: str, kind: str) -> Path:
    path = tmp_path / option.strip("-")
    if kind == "a folder":
        path.mkdir()
    elif kind == "a file":
        path.write_text("not a folder\n")
    return path


def run_main(module, argv: list[str]) -> int:
    try:
        return module.main(argv)
    except SystemExit as stop:  # argparse's own checks exit from the parser
        return stop.code


@pytest.mark.parametrize("script, others, option, kind", WRONG_PATHS,
                         ids=[f"{s}-{o}-{k.replace(' ', '-')}" for s, _, o, k in WRONG_PATHS])
def test_a_wrong_path_is_one_line_and_exit_2_before_anything_is_measured(script, others, option, kind, tmp_path,
                                                                         capsys, no_processes):
    module = benchmark(script)
    path = wrong_path(tmp_path, option, kind)
    argv = [arg.format(tmp=tmp_path) for arg in others] + [option, str(path)]
    capsys.readouterr()
    assert run_main(module, argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"{script}: error: ") and str(path) in err, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert out == ""  # not even the machine line: nothing was measured


@pytest.mark.parametrize("script, argv", WRONG_VALUES, ids=[s for s, _ in WRONG_VALUES])
def test_a_wrong_value_stops_the_script_before_it_starts(script, argv, capsys, no_processes):
    module = benchmark(script)
    capsys.readouterr()
    assert run_main(module, argv) == 2
    out, err = capsys.readouterr()
    assert err.splitlines()[-1].startswith(f"{script}: error: ") and "Traceback" not in err, err
    assert out == ""
