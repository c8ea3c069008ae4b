"""Every console script of setup.py, run as its own process on bad input: ``prog: error: ...`` on stderr,
exit status 2, no traceback (the one wrapper, ``mixformerv2_core.cli.runner``). The tracking node's bad
parameters and missing weights leave it running and report why (its log, /diagnostics), also no traceback.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY = re.compile(r'"([\w-]+) = ([\w.]+):(\w+)"')
MISSING = "/no/such/path/x.pt"

# Bad input per script: an option it does not know (argparse) and a bad value found while running.
BAD_RUNS = {
    "mixformerv2-track": [["--weights", MISSING, "--input", "synthetic:1"]],
    "mixformerv2-export": [["--weights", MISSING, "--output", "{tmp}/out"]],
    "mixformerv2-eval": [["--checkpoint", MISSING, "--dataset", "otb", "--root", "{tmp}", "--out", "{tmp}/r"]],
    "mixformerv2-report": [["--dataset", "otb", "--root", "{tmp}/none", "--results", "a={tmp}", "--out", "{tmp}/r"]],
    "mixformerv2-make-bag": [["--video", "/no/such/video.mp4", "--out", "{tmp}/bag"]],
    "mixformerv2-replay": [["--bag", "/no/such/bag", "--out", "{tmp}/out"]],
    "mixformerv2-train": [["--config", "no_such_preset"], ["--config", "tiny_teacher", "train.epochs=x"],
                          ["--config", "real_score", "--chain", "init.checkpoint=x.pt"]],
    "mixformerv2-train-export": [[MISSING, "{tmp}/out.pt"]],
    "mixformerv2-init": [["--box", "1,2,3,4", "--ros-args", "-p"]],
    "mixformerv2-camera": [["--source", "/no/such/video.mp4"], ["--frames", "1", "--ros-args", "-p"]],
    "mixformerv2-box-picker": [[]],  # no display in tests: the window cannot open
    "mixformerv2-tracking-node": [["--ros-args", "-p"]],
}
ALIASES = {"tracking_node": "mixformerv2-tracking-node", "box_picker": "mixformerv2-box-picker",
           "init": "mixformerv2-init"}  # `ros2 run` names of the same functions
NODE_OPTION_FREE = {"mixformerv2-tracking-node"}  # rclpy ignores options it does not know


def console_scripts() -> dict[str, tuple[str, str]]:
    return {name: (module, function) for name, module, function in ENTRY.findall((ROOT / "setup.py").read_text())}


def _command(name: str, module: str, function: str, argv: list[str]) -> list[str]:
    code = f"import sys; from {module} import {function} as main; sys.argv[0] = {name!r}; sys.exit(main())"
    return [sys.executable, "-c", code, *argv]


def _run(name: str, argv: list[str], tmp: Path) -> tuple[list[str], subprocess.CompletedProcess]:
    module, function = console_scripts()[name]
    argv = [arg.replace("{tmp}", str(tmp)) for arg in argv]
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(_command(name, module, function, argv), capture_output=True, text=True, timeout=180,
                            cwd=tmp, env=env)
    return argv, result


def test_every_console_script_has_bad_inputs_here():
    scripts = console_scripts()
    assert set(scripts) == set(BAD_RUNS) | set(ALIASES), "add the new console script's bad inputs to BAD_RUNS"
    for alias, name in ALIASES.items():
        assert scripts[alias] == scripts[name]


def test_bad_input_is_one_error_line_and_exit_2(tmp_path):
    cases = [(name, argv) for name, runs in BAD_RUNS.items() for argv in runs]
    cases += [(name, ["--no-such-option"]) for name in BAD_RUNS if name not in NODE_OPTION_FREE]
    with ThreadPoolExecutor(max_workers=3) as pool:  # each run is a Python start-up with torch: mostly waiting
        outcomes = list(pool.map(lambda case: (case[0], *_run(case[0], case[1], tmp_path)), cases))
    problems = []
    for name, argv, result in outcomes:
        lines = result.stderr.strip().splitlines()
        if result.returncode != 2 or "Traceback" in result.stderr or not lines or not re.match(
                rf"{re.escape(name)}: error: \S", lines[-1]):
            problems.append(f"{name} {argv}: exit {result.returncode}, stderr:\n{result.stderr[-2000:]}")
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("problem", ["weights", "parameter"])
def test_node_with_bad_weights_or_parameters_reports_and_stays_up(tmp_path, problem):
    """Not a command error: the lifecycle node stays (unconfigured) and says why in its log, without a traceback."""
    module, function = console_scripts()["mixformerv2-tracking-node"]
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    if problem == "weights":
        settings, reason = [f"weights:={bad}"], rf"configure failed: cannot load the tracker from '{re.escape(str(bad))}'"
    else:
        settings, reason = ["qos_depth:=not-a-number"], r"configure failed: .*'qos_depth'.*expecting type 'INTEGER'"
    argv = ["--ros-args", "-p", "autostart:=true", "-r", "__node:=console_script_check"]
    argv += [arg for setting in settings for arg in ("-p", setting)]
    process = subprocess.Popen(_command("mixformerv2-tracking-node", module, function, argv), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    lines = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("configure failed" in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        time.sleep(0.5)
        assert process.poll() is None, "".join(lines)  # still running after the failed configure
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
        lines.append(rest)
    output = "".join(lines)
    assert "Traceback" not in output, output
    assert re.search(reason, output), output
    assert process.returncode == 0, output
