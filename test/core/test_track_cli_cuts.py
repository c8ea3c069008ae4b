"""mixformerv2-track's first-contact behaviour: each test pins one message or behaviour a new user meets."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from mixformerv2_core.annotated_video import AnnotatedVideo, probe_video
from mixformerv2_core.cli.track import DEMO_WEIGHTS, build_parser, main
from mixformerv2_core.demo_model import DEMO_WEIGHTS_WARNING
from mixformerv2_core.frame_sources import open_source
from mixformerv2_core.results_io import read_boxes
from mixformerv2_core.synthetic import generate_sequence


def _run(capsys, *argv):
    code = main([*argv, "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _folder(tmp_path, count=6, names=None):
    seq = generate_sequence(seed=4, num_frames=count, frame_size=(90, 120))
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(seq.frames):
        name = names[i] if names else f"{i:04d}.png"
        cv2.imwrite(str(folder / name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder, seq


def test_negative_numbers_in_init_reach_the_box_check(tmp_path, tiny_checkpoint, capsys):
    results = tmp_path / "r.txt"
    code, _, err = _run(capsys, "--weights", str(tiny_checkpoint), "--input", "synthetic:1", "--max-frames", "3",
                        "--init", "-10,-12,60,70", "--results", str(results))
    assert code == 0, err
    np.testing.assert_allclose(read_boxes(results)[0], [-10, -12, 60, 70])
    code, _, err = _run(capsys, "--weights", str(tiny_checkpoint), "--input", "synthetic:1", "--init", "-50,-50,30,30")
    assert code == 2 and "lies entirely outside" in err and "expected one argument" not in err


def test_image_folder_is_read_in_natural_order(tmp_path):
    folder = tmp_path / "numbers"
    folder.mkdir()
    for number in range(1, 13):
        cv2.imwrite(str(folder / f"{number}.png"), np.full((8, 8, 3), number * 10, np.uint8))
    values = [int(frame[0, 0, 0]) for frame in open_source(str(folder)).frames]
    assert values == [number * 10 for number in range(1, 13)]


def test_bad_frame_keeps_the_results_before_it_and_names_it(tmp_path, tiny_checkpoint, capsys):
    folder, seq = _folder(tmp_path, 6)
    (folder / "0003.png").write_bytes(b"not an image")
    results = tmp_path / "r.txt"
    x, y, w, h = seq.boxes[0]
    code, _, err = _run(capsys, "--weights", str(tiny_checkpoint), "--input", str(folder),
                        "--init", f"{x},{y},{w},{h}", "--results", str(results))
    assert code == 2
    assert "frame 3" in err and "0003.png" in err and "Traceback" not in err
    assert read_boxes(results).shape == (3, 4)


@pytest.mark.parametrize("make_weights, expected", [
    (lambda tmp: tmp / "missing.pt", "weights file not found"),
    (lambda tmp: tmp, "is a directory"),
    (lambda tmp: (tmp / "graph.onnx").write_bytes(b"\x08\x07") and tmp / "graph.onnx",
     "this is an ONNX graph"),
])
def test_wrong_weights_files_are_named(tmp_path, capsys, make_weights, expected):
    code, _, err = _run(capsys, "--weights", str(make_weights(tmp_path)), "--input", "synthetic")
    assert code == 2 and expected in err and err.startswith("mixformerv2-track: error:")
    assert "pickle" not in err.lower()


def test_missing_input_and_bad_seed_are_clear(tmp_path, tiny_checkpoint, capsys):
    code, _, err = _run(capsys, "--weights", str(tiny_checkpoint), "--input", str(tmp_path / "clip.mp4"))
    assert code == 2 and "not found" in err
    code, _, err = _run(capsys, "--weights", str(tiny_checkpoint), "--input", "synthetic:abc")
    assert code == 2 and "whole-number seed" in err and "int()" not in err


def test_unwritable_outputs_fail_before_tracking(tmp_path, tiny_checkpoint, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for option in ("--results", "--output"):
        code, out, err = _run(capsys, "--weights", str(tiny_checkpoint), "--input", "synthetic:1",
                              option, str(blocker / "sub" / "out.mp4"))
        assert code == 2 and f"{option} {blocker}" in err and "cannot create the folder" in err, err
        assert "frames" not in out and "Traceback" not in err


def test_damaged_video_gives_one_summary_line(tmp_path, tiny_checkpoint):
    clip = tmp_path / "clip.mp4"
    video = AnnotatedVideo(clip, 30)
    for i, frame in enumerate(generate_sequence(seed=2, num_frames=20, frame_size=(120, 160)).frames):
        video.add(frame, [], i)
    video.close()
    data = bytearray(clip.read_bytes())
    for start in np.random.default_rng(0).integers(2000, len(data) - 2000, 40):
        data[start:start + 30] = bytes(30)
    clip.write_bytes(bytes(data))
    done = subprocess.run([sys.executable, "-m", "mixformerv2_core.cli.track", "--weights", str(tiny_checkpoint),
                           "--input", str(clip), "--init", "40,40,30,30", "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "damaged video" in lines[0] and "frames decoded" in lines[0], done.stderr


def test_help_has_no_markup_and_explains_every_option():
    parser = build_parser()
    text = parser.format_help()
    assert "``" not in text
    undocumented = [action.dest for action in parser._actions if not action.help]
    assert undocumented == []


def test_output_is_h264_with_a_contact_sheet(tmp_path, tiny_checkpoint, capsys):
    video = tmp_path / "out" / "track.mp4"
    code, out, err = _run(capsys, "--weights", str(tiny_checkpoint), "--input", "synthetic:2", "--max-frames", "12",
                          "--output", str(video))
    assert code == 0, err
    assert probe_video(video) == ("h264", 12)
    sheet = cv2.imread(str(video.with_suffix(".png")))
    assert sheet is not None and sheet.shape[0] > 100
    assert "contact sheet" in out


def test_demo_weights_warn_once_on_real_input_only(tmp_path, capsys):
    folder, seq = _folder(tmp_path, 3)
    x, y, w, h = seq.boxes[0]
    code, _, err = _run(capsys, "--input", str(folder), "--init", f"{x},{y},{w},{h}")
    assert code == 0 and err.count(DEMO_WEIGHTS_WARNING) == 1
    code, _, err = _run(capsys, "--weights", str(DEMO_WEIGHTS), "--input", "synthetic:1", "--max-frames", "3")
    assert code == 0 and DEMO_WEIGHTS_WARNING not in err


def test_onnx_bundle_is_used_as_given(tmp_path, tiny_checkpoint, capsys, monkeypatch):
    pytest.importorskip("onnxruntime")
    from mixformerv2_core.cli.export import main as export_main

    assert export_main(["--weights", str(tiny_checkpoint), "--output", str(tmp_path / "bundles"), "--int8"]) == 0
    cache = tmp_path / "cache"
    monkeypatch.setenv("MIXFORMERV2_CACHE", str(cache))
    capsys.readouterr()
    for backend in ("onnx", "onnx-int8"):
        code, out, err = _run(capsys, "--weights", str(tiny_checkpoint), "--backend", backend,
                              "--onnx-bundle", str(tmp_path / "bundles"), "--input", "synthetic:1",
                              "--max-frames", "4")
        assert code == 0, err
    assert not cache.exists() or not any(cache.iterdir())  # nothing was exported again
    code, _, err = _run(capsys, "--weights", str(tiny_checkpoint), "--onnx-bundle", str(tmp_path / "bundles"))
    assert code == 2 and "--onnx-bundle) is read by backend onnx, onnx-int8, openvino, not torch" in err
