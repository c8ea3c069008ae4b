"""Offline bag replay through the core tracker, and the make-bag command."""
import json

import cv2
import numpy as np
import pytest

from mixformerv2_core.evaluation import results, runner
from mixformerv2_core.results_io import read_boxes, write_boxes
from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_ros import bags, make_bag, replay

from .test_datasets import make_lasot


@pytest.fixture(scope="module")
def generated():
    return generate_sequence(seed=7, num_frames=14, frame_size=(96, 128))


@pytest.fixture
def spec(eval_checkpoint):
    return runner.TrackerSpec(str(eval_checkpoint), threads=1)


def test_offline_replay_is_deterministic_and_equals_direct_tracking(tmp_path, generated, spec):
    bags.write_sequence_bag(tmp_path / "raw", generated.frames, generated.boxes, fps=30)
    bags.write_sequence_bag(tmp_path / "png", generated.frames, generated.boxes, fps=30, storage="sqlite3",
                            compressed="png")
    first = replay.evaluate_bag_offline(tmp_path / "raw", spec, tmp_path / "o1", name="seq")
    second = replay.evaluate_bag_offline(tmp_path / "raw", spec, tmp_path / "o2", name="seq")
    other = replay.evaluate_bag_offline(tmp_path / "png", spec, tmp_path / "o3", name="seq")
    assert first.complete and first.frames_evaluated == 14 and first.first_frame == 0
    a, b, c = (read_boxes(tmp_path / d / "seq.txt") for d in ("o1", "o2", "o3"))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)  # lossless storage formats give the same run
    assert first.metrics == second.metrics == other.metrics
    direct = runner.track_frames(spec.build(), generated.frames, generated.boxes[0])
    np.testing.assert_allclose(a, np.round(direct.boxes, 2), atol=0.006)
    saved = json.loads((tmp_path / "o1" / "replay.json").read_text())
    assert saved["complete"] is True and saved["metrics"]["AUC"] == pytest.approx(first.metrics["AUC"])
    assert (tmp_path / "o1" / "report" / "success.png").stat().st_size > 5000
    assert len(results.load_times(tmp_path / "o1", "seq")) == 14


def test_initialises_on_first_valid_box_and_uses_gt_file(tmp_path, generated, spec):
    gt = generated.boxes.copy()
    gt[:2] = np.nan  # target absent at the start
    bags.write_sequence_bag(tmp_path / "bag", generated.frames, None, fps=30)
    write_boxes(tmp_path / "gt.txt", gt)
    res = replay.evaluate_bag_offline(tmp_path / "bag", spec, tmp_path / "o", gt_file=tmp_path / "gt.txt")
    assert res.first_frame == 2 and res.frames_evaluated == 12
    with pytest.raises(ValueError, match="ground-truth file"):
        replay.evaluate_bag_offline(tmp_path / "bag", spec, tmp_path / "o2")


def test_damaged_bag_is_evaluated_on_its_readable_part_and_says_so(tmp_path, spec, capsys):
    seq = generate_sequence(seed=8, num_frames=40, frame_size=(120, 160))
    bags.write_sequence_bag(tmp_path / "bag", seq.frames, seq.boxes, fps=30)
    (mcap,) = (tmp_path / "bag").glob("*.mcap")
    mcap.write_bytes(mcap.read_bytes()[: int(mcap.stat().st_size * 0.7)])
    rc = replay.main(["--bag", str(tmp_path / "bag"), "--checkpoint", spec.checkpoint, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 3 and "WARNING: partial evaluation" in err
    saved = json.loads((tmp_path / "o" / "replay.json").read_text())
    assert saved["complete"] is False and "cut-off" in saved["error"] and 0 < saved["frames_evaluated"] < 40
    assert "PARTIAL" in (tmp_path / "o" / "report" / "report.md").read_text()


def test_make_bag_from_dataset_sequence_and_synthetic(tmp_path):
    make_lasot(tmp_path / "lasot", names=("cat-3",), n=4)
    for p in sorted((tmp_path / "lasot" / "cat" / "cat-3" / "img").iterdir()):
        cv2.imwrite(str(p), np.full((40, 60, 3), 100 + int(p.stem), np.uint8))
    rc = make_bag.main(["--dataset", "lasot", "--root", str(tmp_path / "lasot"), "--sequence", "cat-3",
                        "--out", str(tmp_path / "bag"), "--storage", "sqlite3", "--fps", "10"])
    assert rc == 0
    got = bags.read_sequence_bag(tmp_path / "bag")
    assert len(got.frames) == 4 and got.custom_data["sequence"] == "cat-3"
    assert abs(int(got.frames[2].image[0, 0, 0]) - 103) <= 2  # JPEG source frames
    assert np.isnan(got.boxes[1]).all() and np.isnan(got.boxes[4 - 1]).all()  # out of view / fully occluded
    assert got.gt_states == ["visible", "absent", "visible", "absent"]
    assert got.custom_data["dataset"] == "lasot" and got.custom_data["protocol"] == "lasot"
    np.testing.assert_allclose(got.boxes[2], [12, 22, 30, 40])
    assert np.diff(got.stamps_ns).tolist() == [100_000_000] * 3
    assert make_bag.main(["--synthetic", "1", "--frames", "3", "--out", str(tmp_path / "syn"), "--compressed", "jpeg"]) == 0
    assert len(bags.read_sequence_bag(tmp_path / "syn").frames) == 3
    assert make_bag.main(["--synthetic", "1", "--frames", "3", "--out", str(tmp_path / "syn")]) == 2  # exists


def test_bag_of_a_test_set_sequence_is_tracked_without_metrics(tmp_path, generated, spec, capsys):
    test_split = tmp_path / "got" / "test" / "GOT-10k_Test_000007"
    test_split.mkdir(parents=True)
    (tmp_path / "got" / "test" / "list.txt").write_text("GOT-10k_Test_000007\n")
    for i, frame in enumerate(generated.frames[:6], start=1):
        cv2.imwrite(str(test_split / f"{i:08d}.png"), frame[..., ::-1])
    write_boxes(test_split / "groundtruth.txt", generated.boxes[:1])
    assert make_bag.main(["--dataset", "got10k_test", "--root", str(tmp_path / "got"), "--sequence",
                          "GOT-10k_Test_000007", "--out", str(tmp_path / "bag")]) == 0
    assert "only the initial box" in capsys.readouterr().err
    rc = replay.main(["--bag", str(tmp_path / "bag"), "--checkpoint", spec.checkpoint, "--out", str(tmp_path / "o")])
    assert rc == 0 and "without metrics" in capsys.readouterr().out
    saved = json.loads((tmp_path / "o" / "replay.json").read_text())
    assert saved["metrics"] == {} and saved["frames_evaluated"] == 6 and not (tmp_path / "o" / "report").exists()
    # frames without annotation say so: 'unknown', not 'absent'
    assert bags.read_sequence_bag(tmp_path / "bag").gt_states == ["visible"] + ["unknown"] * 5


def test_replay_of_a_lasot_bag_equals_eval_with_no_extra_flags(tmp_path, eval_checkpoint, capsys):
    """The bag records its source dataset; replay takes the LaSOT preset and scoring rules from it."""
    from mixformerv2_core.cli import eval as eval_cli

    seq = generate_sequence(seed=11, num_frames=24, frame_size=(96, 128))
    d = tmp_path / "lasot" / "bird" / "bird-2"
    (d / "img").mkdir(parents=True)
    for i, frame in enumerate(seq.frames, start=1):
        cv2.imwrite(str(d / "img" / f"{i:08d}.jpg"), frame[..., ::-1])
    gt = np.round(seq.boxes)
    gt[15] = 0  # a 0,0,0,0 box on a frame that is not flagged (a P_norm hit under the LaSOT rules)
    np.savetxt(d / "groundtruth.txt", gt, delimiter=",", fmt="%d")
    occluded = np.zeros(24, int)
    occluded[8:11] = 1  # flagged frames: misses for P_norm under the LaSOT rules, hits under 'ope'
    (d / "full_occlusion.txt").write_text(",".join(map(str, occluded)))
    (d / "out_of_view.txt").write_text(",".join(["0"] * 24))
    assert eval_cli.main(["--checkpoint", str(eval_checkpoint), "--dataset", "lasot", "--root", str(tmp_path / "lasot"),
                          "--out", str(tmp_path / "eval"), "--threads", "1", "--no-progress"]) == 0
    assert make_bag.main(["--dataset", "lasot", "--root", str(tmp_path / "lasot"), "--sequence", "bird-2",
                          "--out", str(tmp_path / "bag")]) == 0
    assert replay.main(["--bag", str(tmp_path / "bag"), "--checkpoint", str(eval_checkpoint),
                        "--out", str(tmp_path / "replay"), "--name", "bird-2", "--threads", "1"]) == 0
    capsys.readouterr()
    np.testing.assert_array_equal(read_boxes(tmp_path / "replay" / "bird-2.txt"), read_boxes(tmp_path / "eval" / "bird-2.txt"))
    ours = json.loads((tmp_path / "replay" / "replay.json").read_text())
    scored = json.loads((tmp_path / "eval" / "report" / "scores.json").read_text())["eval"]["overall"]
    assert ours["extra"]["protocol"] == "lasot" and ours["extra"]["preset"] == "lasot"
    for key in ("AUC", "P", "P_norm"):
        assert ours["metrics"][key] == pytest.approx(scored[key], abs=1e-9), key
    # told otherwise, it does otherwise: the flagged frames become P_norm hits under 'ope'
    assert replay.main(["--bag", str(tmp_path / "bag"), "--checkpoint", str(eval_checkpoint),
                        "--out", str(tmp_path / "ope"), "--name", "bird-2", "--threads", "1", "--protocol", "ope"]) == 0
    other = json.loads((tmp_path / "ope" / "replay.json").read_text())
    assert other["metrics"]["P_norm"] > ours["metrics"]["P_norm"]
    # the preset follows the recorded dataset as mixformerv2-eval's does (GOT-10k: update interval 10)
    got = bags.BagSequence([], None, "/image", None, custom_data={"dataset": "got10k_val", "protocol": "got10k"})
    assert replay.bag_defaults(got) == (runner.PRESETS["got10k_val"], "ope")
    assert replay.bag_defaults(bags.BagSequence([], None, "/image", None)) == (None, "ope")  # a user's recording
