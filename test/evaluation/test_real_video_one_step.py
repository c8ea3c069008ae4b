"""benchmarks/real_video.py --one-step: the size and position slopes tell a network that measures the target
from one that returns the box it was placed with.
"""
from types import SimpleNamespace

import numpy as np
import pytest

from mixformerv2_core import load_tracker
from mixformerv2_core.evaluation.metrics import iou
from mixformerv2_core.synthetic import generate_sequence


class _Oracle:
    """Answers with the frame's label whatever box it was placed with: a network that measures perfectly.

    The benchmark tracks every frame once per probe, so the frame is the call count over the probes.
    """

    def __init__(self, labels: np.ndarray, probes: int) -> None:
        self._labels, self._probes, self._calls = labels, probes, 0

    def initialize(self, frame, box) -> None:
        self._calls = 0

    def place(self, box) -> None:
        pass

    def _next_label(self) -> np.ndarray:
        label = self._labels[1 + self._calls // self._probes]
        self._calls += 1
        return label

    def track(self, frame):
        return SimpleNamespace(box=tuple(self._next_label()), score=1.0)


class _ScoresItsOverlap(_Oracle):
    """Returns the box it was placed with and, as its score, that box's overlap with the frame's label: a
    score that knows exactly when the box is right.
    """

    def place(self, box) -> None:
        self._placed = box

    def track(self, frame):
        label = self._next_label()
        return SimpleNamespace(box=tuple(self._placed), score=float(iou(np.asarray([self._placed]), label[None])[0]))


@pytest.fixture(scope="module")
def sequence():
    seq = generate_sequence(seed=5, num_frames=8, frame_size=(96, 128))
    return {"gen": (list(seq.frames), np.asarray(seq.boxes, dtype=np.float64))}


def test_a_box_that_returns_the_placed_box_has_slopes_one_and_one_that_measures_zero(real_video, sequence):
    labels = sequence["gen"][1]
    results = real_video._evaluate_one_step({"static": real_video._StaticBox,
                                             "oracle": lambda: _Oracle(labels, len(real_video.PROBES))}, sequence)
    static, oracle = results["static"]["gen"], results["oracle"]["gen"]
    assert static["size_slope"] == pytest.approx(1.0, abs=1e-9)
    assert static["position_slope"] == pytest.approx(1.0, abs=0.05)  # labels of consecutive frames differ a little
    assert oracle["size_slope"] == pytest.approx(0.0, abs=1e-9)
    assert oracle["position_slope"] == pytest.approx(0.0, abs=1e-9)
    assert oracle["median_iou"] == pytest.approx(1.0)
    assert oracle["log_width"] == pytest.approx(0.0) and oracle["log_height"] == pytest.approx(0.0)


def test_the_score_roc_pools_every_probe_and_needs_a_score_that_knows_the_overlap(real_video, sequence):
    labels = sequence["gen"][1]
    results = real_video._evaluate_one_step(
        {"static": real_video._StaticBox, "knows": lambda: _ScoresItsOverlap(labels, len(real_video.PROBES))},
        sequence)
    assert results["static"]["all"]["score_roc_auc"] == 0.5  # the same score for every frame tells nothing
    knows = results["knows"]["all"]
    assert knows["score_roc_auc"] == 1.0  # the shifted and scaled probes give the lost frames
    assert 0.5 < knows["best_lost_threshold"] <= 1.0 and 0.0 < knows["lost_threshold_keeping"] <= 1.0
    assert set(results["knows"]) == {"gen", "all"}


def test_the_label_step_comes_last_so_the_tracker_carries_on_from_it(real_video):
    assert real_video.PROBES[-1] == (1.0, 0.0)
    assert real_video._placed((10, 20, 30, 40), 1.5, 0.0) == pytest.approx((2.5, 10.0, 45.0, 60.0))
    assert real_video._placed((10, 20, 30, 40), 1.0, 0.5) == pytest.approx((25.0, 40.0, 30.0, 40.0))


def test_a_mixformerv2_tracker_gets_every_one_step_number(real_video, sequence, eval_checkpoint):
    results = real_video._evaluate_one_step({"net": lambda: load_tracker(str(eval_checkpoint), reacquire="off")},
                                            sequence)
    numbers = results["net"]["gen"]
    assert set(numbers) == {"median_iou", "log_width", "log_height", "size_slope", "position_slope"}
    assert all(np.isfinite(v) for v in numbers.values())


def test_clips_whose_package_is_missing_are_left_out_by_name(real_video, tmp_path, monkeypatch, capsys):
    import cv2

    from mixformerv2_training.data.real_clips import content_sha256, load_clip
    from mixformerv2_training.data.registry import REGISTRY_ENV

    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path))
    folder = tmp_path / "here" / "seq"
    folder.mkdir(parents=True)
    for index in range(4):
        cv2.imwrite(str(folder / f"{index}.png"), np.full((8, 8, 3), index, np.uint8))
    clips = []
    for name, package, digest in (("present", "here", content_sha256(folder)), ("absent", "not-installed", "0")):
        path = tmp_path / f"{name}.txt"
        path.write_text(f"# package: {package}\n# file: seq\n# sha256: {digest}\n# frames: 0-3\n# target: t\n"
                        "0,1,1,2,2\n3,2,2,2,2\n")
        clips.append(load_clip(path))
    sequences = real_video._installed_clips(clips, None)
    assert list(sequences) == ["present"] and len(sequences["present"][0]) == 4
    assert "leaving out the clip absent" in capsys.readouterr().out
