"""The mixformerv2-track command on generated scenes, image folders and videos."""
from __future__ import annotations

import cv2
import numpy as np

from mixformerv2_core.cli.track import main
from mixformerv2_core.results_io import read_boxes
from mixformerv2_core.synthetic import generate_sequence


def test_synthetic_input_writes_results_and_video(tmp_path, tiny_checkpoint, capsys):
    results, video = tmp_path / "out.txt", tmp_path / "out.mp4"
    code = main(["--weights", str(tiny_checkpoint), "--input", "synthetic:2", "--max-frames", "12",
                 "--results", str(results), "--output", str(video), "--no-progress"])
    assert code == 0
    boxes = read_boxes(results)
    assert boxes.shape == (12, 4)
    assert cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT) == 12
    out = capsys.readouterr().out
    assert "FPS" in out and "mean IoU" in out


def test_image_folder_input_with_explicit_init(tmp_path, tiny_checkpoint):
    seq = generate_sequence(seed=4, num_frames=6, frame_size=(90, 120))
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(seq.frames):
        cv2.imwrite(str(folder / f"{i:08d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    results = tmp_path / "r.txt"
    x, y, w, h = seq.boxes[0]
    assert main(["--weights", str(tiny_checkpoint), "--input", str(folder), "--init", f"{x},{y},{w},{h}",
                 "--results", str(results), "--no-progress", "--full-forward"]) == 0
    boxes = read_boxes(results)
    assert boxes.shape == (6, 4)
    np.testing.assert_allclose(boxes[0], seq.boxes[0])


def test_bad_arguments_exit_with_a_message(tmp_path, tiny_checkpoint, capsys):
    assert main(["--weights", str(tmp_path / "missing.pt"), "--input", "synthetic", "--no-progress"]) == 2
    assert "weights file not found" in capsys.readouterr().err
    assert main(["--weights", str(tiny_checkpoint), "--input", str(tmp_path / "nothing.mp4"), "--no-progress"]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["--weights", str(tiny_checkpoint), "--input", str(tmp_path / "empty"), "--init", "1,1,4,4"]) == 2
    assert "no images" in capsys.readouterr().err
    assert main(["--weights", str(tiny_checkpoint), "--input", "synthetic", "--init", "5,5,0,0", "--no-progress"]) == 2
    assert "positive width" in capsys.readouterr().err
