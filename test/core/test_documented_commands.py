"""Every shell command in README.md and docs/*.md works as written, or says here why it cannot run in a test.

Commands are taken from ```bash / ```sh blocks (continuation lines joined, comments dropped) and run with the
virtual environment on PATH, as a user who followed the set-up would. Files they name that need no external
data are stand-ins made here: ``mixformerv2_small.pth.tar`` (the S architecture with random weights, official
layout), ``video.mp4`` (a generated scene), ``trained.pt`` (a tiny checkpoint of ours). A new command that needs
something else fails this test until it works or gets a reason in SKIPS.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# (pattern searched in the command, why it does not run here); the first match wins.
SKIPS: list[tuple[str, str]] = [
    (r"^bash scripts/demo\.sh$", "run end to end by test/ros/test_demo_script.py (90 frames)"),
    (r"scripts/test\.sh|python -m pytest", "runs the test suite itself"),
    (r"^(cd |git clone|rosdep |colcon |mkdir -p ~/ros_ws|source /opt/ros|source install/)",
     "needs a ROS 2 Humble/Jazzy install and a colcon workspace"),
    (r"^ros2 ", "needs a running tracking node (test/system and test/ros/test_launch_run.py run ros2 launch, "
                "param, lifecycle and topic against one)"),
    (r"^mixformerv2-init ", "needs a running tracking node: test/ros/test_init_tool.py runs the tool against one"),
    (r"~/venvs/|~/ros_ws", "needs an apt ROS 2 install on Ubuntu and a colcon workspace in ~/ros_ws"),
    (r"(^|\s)sudo ", "changes the host's kernel settings (root, outside the repository)"),
    (r"/data/LaSOT|bags/airplane-1|--video clip\.mp4", "needs a dataset or a recorded clip (external data)"),
    (r"\$HOME/models/|/data/mixformerv2_|/path/to/|weights:=mixformerv2_small",
     "needs the official weights (external data)"),
    (r"^(pip|python3 -m pip) install", "changes the environment; scripts/setup_env.sh installs the pinned versions"),
    (r"torchrun|--config (dense_to_sparse_b|deep_to_shallow_b)", "paper-scale training: GPUs and the datasets"),
    (r"mixformerv2-train --config (tiny_|demo_|real_)",
     "minutes to hours of CPU training; test/training runs the presets on a few steps"),
    (r"^cp runs/demo_score", "replaces the built-in demo weights (last step of their training recipe)"),
    (r"benchmarks/", "benchmarks take minutes; their tables are recorded in docs/"),
    (r"<[^>]+>|\[--|\.\.\.", "a synopsis with placeholders, not a command"),
]


def _strip_comment(line: str) -> str:
    return re.sub(r"(^|\s)#(\s.*)?$", "", line).rstrip()


def documented_commands() -> list[tuple[str, str]]:
    """(where, command) for every command line in the shell blocks of the documents, in document order."""
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for block in re.finditer(r"```(bash|sh|shell)\n(.*?)```", text, re.S):
            first_line = text[:block.start(2)].count("\n") + 1
            lines = block.group(2).split("\n")
            index = 0
            while index < len(lines):
                start = index
                command = _strip_comment(lines[index])
                while command.endswith("\\") and index + 1 < len(lines):
                    index += 1
                    command = command[:-1].rstrip() + " " + _strip_comment(lines[index]).strip()
                if re.search(r"(^|;\s*)do$", command):  # a loop: up to its 'done'
                    while "done" not in command and index + 1 < len(lines):
                        index += 1
                        command += " " + _strip_comment(lines[index]).strip()
                index += 1
                if command.strip():
                    found.append((f"{document.relative_to(REPO)}:{first_line + start}", command.strip()))
    return found


def skip_reason(command: str) -> str | None:
    for pattern, reason in SKIPS:
        if re.search(pattern, command):
            return reason
    return None


COMMANDS = documented_commands()


def test_the_documents_have_commands_and_each_runs_or_has_a_reason():
    assert len(COMMANDS) > 30
    runnable = [command for _, command in COMMANDS if skip_reason(command) is None]
    assert any(command.startswith("mixformerv2-track") for command in runnable)
    assert any("--backend onnx-int8" in command for command in runnable)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """One folder for all commands (a later command may read what an earlier one wrote, as in the docs)."""
    import cv2
    import torch

    from mixformerv2_core import ModelConfig, build_model, save_checkpoint
    from mixformerv2_core.annotated_video import H264Writer
    from mixformerv2_core.checkpoint import save_official_format
    from mixformerv2_core.synthetic import generate_sequence

    folder = tmp_path_factory.mktemp("documented")
    torch.manual_seed(0)
    save_official_format(build_model("S"), folder / "mixformerv2_small.pth.tar")
    save_checkpoint(build_model(ModelConfig.tiny()), folder / "trained.pt")
    video = H264Writer(folder / "video.mp4", 30)
    for frame in generate_sequence(seed=3, num_frames=8, frame_size=(240, 320)).frames:
        video.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    video.close()
    (folder / ".venv").symlink_to(REPO / ".venv")  # commands that say .venv/bin/... run as written
    return folder


_already_run: dict[str, str] = {}


@pytest.mark.parametrize("where, command", COMMANDS, ids=[where for where, _ in COMMANDS])
def test_documented_command_works_as_written(where, command, workdir):
    reason = skip_reason(command)
    if reason:
        pytest.skip(reason)
    if command in _already_run:
        pytest.skip(f"same command as {_already_run[command]}")
    _already_run[command] = where
    # Commands that use the repository's scripts or environment run in its root; the rest in the shared folder.
    in_repo = re.search(r"(^|\s)(bash )?scripts/|source \.ros_env", command) is not None
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", "-c", "set -e\n" + command], cwd=REPO if in_repo else workdir, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{where}: {command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
