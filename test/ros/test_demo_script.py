"""scripts/demo.sh end to end: setup (already done, so quick), node + camera processes, init over the topic,
printed figures, the outputs a person opens, and no process left behind (also after Ctrl-C)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import cv2

from mixformerv2_core.annotated_video import probe_video

REPO = Path(__file__).resolve().parents[2]
FRAMES = 90
# 15 Hz instead of the demo's 30 Hz: CI shares 2 CPU cores with other jobs (load averages of 10+ seen), and at
# 30 Hz the latest-frame policy then drops 5-20 % of the frames, which this test would read as a failure.
RATE = "15"


def _alive(groups: set[int]) -> list[int]:
    """Process groups among ``groups`` that still have a member."""
    alive = []
    for group in groups:
        try:
            os.killpg(group, 0)
            alive.append(group)
        except ProcessLookupError:
            pass
    return alive


def _run_demo(out: Path, stop_after: str = "") -> tuple[int, str, set[int]]:
    """Runs scripts/demo.sh in its own session; collects the process groups the driver records in out/pids.
    With ``stop_after``, sends SIGINT to the script's group (what Ctrl-C does) once that text is printed."""
    command = ["bash", str(REPO / "scripts" / "demo.sh"), "--frames", str(FRAMES), "--size", "320x240",
               "--rate", RATE, "--out", str(out)]
    demo = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
                            start_new_session=True)
    lines, groups = [], set()
    try:
        for line in demo.stdout:
            lines.append(line)
            if (out / "pids").exists():
                groups |= {int(pid) for pid in (out / "pids").read_text().split()}
            if stop_after and stop_after in line:
                assert len(groups) == 2 and len(_alive(groups)) == 2  # the node and the camera
                os.killpg(demo.pid, signal.SIGINT)
        demo.wait(timeout=600)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    return demo.returncode, "".join(lines), groups


def test_demo_script_tracks_through_the_node_and_reports(tmp_path):
    out = tmp_path / "demo"
    started = time.monotonic()
    code, text, groups = _run_demo(out)
    assert code == 0, text[-4000:]
    sent, answered, expected = map(int, re.search(
        r"frames sent: (\d+); answered by the node: (\d+) of the (\d+)", text).groups())
    assert sent == FRAMES and expected >= FRAMES - 30
    assert answered / expected >= 0.95, text
    median, p90 = map(float, re.search(r"median ([\d.]+) ms, p90 ([\d.]+) ms", text).groups())
    assert 0 < median <= p90
    iou, static = map(float, re.search(r"ground truth: ([\d.]+) \(a box left where it started: ([\d.]+)\)",
                                       text).groups())
    assert iou > static, text
    assert f"outputs in {out}" in text
    assert probe_video(out / "demo.mp4") == ("h264", FRAMES)
    sheet = cv2.imread(str(out / "demo.png"))
    assert sheet is not None and sheet.shape[0] >= 240
    codec, debug_frames = probe_video(out / "debug_image.mp4")
    assert codec == "h264" and debug_frames > 0
    assert len(groups) == 2 and _alive(groups) == [] and not (out / "pids").exists()
    # set-up was already done: the script's set-up steps must skip, not reinstall
    assert "installing PyTorch" not in text and time.monotonic() - started < 300


def test_demo_script_stops_every_process_on_ctrl_c(tmp_path):
    out = tmp_path / "demo"
    code, text, groups = _run_demo(out, stop_after="target initialised")
    assert code != 0 and "interrupted" in text, text[-3000:]
    assert len(groups) == 2 and _alive(groups) == []
