"""benchmarks/real_video.py --starts N: each clip tracked from N evenly spaced frames, its numbers the mean of
those runs (OTB's temporal robustness evaluation), so that one lost target does not decide a clip alone.
"""
import numpy as np
import pytest

from mixformerv2_core.synthetic import generate_sequence


def _moving_sequence(frames: int = 12):
    seq = generate_sequence(seed=5, num_frames=frames, frame_size=(64, 80))
    return list(seq.frames), np.asarray(seq.boxes, dtype=np.float64)


def test_each_start_begins_at_its_frame_with_that_frames_label(real_video):
    frames, boxes = _moving_sequence()
    runs = real_video._with_starts({"clip": (frames, boxes)}, 4)
    assert list(runs) == ["clip@0", "clip@3", "clip@6", "clip@9"]
    for name, (run_frames, run_boxes) in runs.items():
        first = int(name.split("@")[1])
        assert run_frames[0] is frames[first] and len(run_frames) == len(frames) - first
        np.testing.assert_array_equal(run_boxes[0], boxes[first])


def test_more_starts_than_frames_keep_two_frames_per_run_and_no_repeats(real_video):
    frames, boxes = _moving_sequence(3)
    runs = real_video._with_starts({"clip": (frames, boxes)}, 5)
    assert list(runs) == ["clip@0", "clip@1"]
    assert all(len(f) >= 2 for f, _ in runs.values())


def test_a_clips_numbers_are_the_mean_of_its_runs(real_video):
    """The static box scores differently from each start of a moving target; the folded AUC is their mean."""
    frames, boxes = _moving_sequence()
    sequences = {"clip": (frames, boxes)}
    makers = {"static": real_video._StaticBox}
    args = real_video._parse(["--starts", "3"])
    folded = real_video._suite(args, makers, sequences, {}, "clips", starts=3)["static"]
    separate = real_video._evaluate(makers, real_video._with_starts(sequences, 3), {})["static"]
    aucs = [separate[name]["auc"] for name in ("clip@0", "clip@4", "clip@8")]
    assert len(set(np.round(aucs, 6))) > 1  # the starts do differ, so the mean is a real fold
    assert folded["clip"]["auc"] == pytest.approx(np.mean(aucs))
    assert folded["clip"]["starts"] == 3 and folded["clip"]["frames"] == len(frames)
    assert set(folded) == {"clip", "all"}


@pytest.mark.parametrize("argv", [["--starts", "0"], ["--starts", "3", "--one-step", "--trackers", "static"]])
def test_starts_that_mean_nothing_stop_with_a_message(real_video, argv, capsys):
    with pytest.raises(SystemExit) as stop:
        real_video.main(argv)
    assert stop.value.code == 2 and "real_video.py: error: --starts takes N >= 1" in capsys.readouterr().err
