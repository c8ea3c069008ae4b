"""Choosing a run's epoch by tracking validation scenes (mixformerv2_training.validation)."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml

from mixformerv2_training.cli import main as cli_main
from mixformerv2_training.config import DEFAULTS, load_config
from mixformerv2_training.data.registry import FETCH_COMMAND, REGISTRY_ENV, SourceMissing, registry_root
from mixformerv2_training.export import UnfinishedPruningError
from mixformerv2_training.models.teacher import load_teacher
from mixformerv2_training.validation import EpochSelector, validation_scenes

SYNTHETIC = {**DEFAULTS["validation"], "kind": "synthetic", "scenes": 2, "frames": 12, "frame_size": [96, 128]}


class OffsetTracker:
    """Reports the init box moved right by ``offset`` pixels: a larger offset tracks worse."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def initialize(self, frame, box) -> None:
        self.box = (box[0] + self.offset, *box[1:])

    def track(self, frame):
        return SimpleNamespace(box=self.box, score=1.0)


def _export_writing(offset):
    def export(path):
        path.write_text(str(offset))
        return path
    return export


def _factory(path):
    offset = float(path.read_text())
    return lambda: OffsetTracker(offset)


def test_the_best_epoch_is_kept_and_survives_a_resume(tmp_path):
    selector = EpochSelector(SYNTHETIC, tmp_path, resume=False)
    for epoch, offset in ((1, 6.0), (2, 0.0), (3, 25.0)):
        entry = selector.validate(epoch, _export_writing(offset), _factory)
        assert entry["epoch"] == epoch and entry["scenes"] == 2
    history = {entry["epoch"]: entry["auc"] for entry in selector.history}
    assert history[2] > history[1] > history[3]
    assert selector.best["epoch"] == 2 and (tmp_path / "best.pt").read_text() == "0.0"
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".validation-")]

    resumed = EpochSelector(SYNTHETIC, tmp_path, resume=True)
    assert resumed.best["epoch"] == 2 and [e["epoch"] for e in resumed.history] == [1, 2, 3]
    resumed.validate(3, _export_writing(25.0), _factory)  # an epoch validated again after a cut is not doubled
    assert [e["epoch"] for e in resumed.history] == [1, 2, 3]
    assert EpochSelector(SYNTHETIC, tmp_path, resume=False).best is None  # a fresh run ignores the old record


def test_an_epoch_that_cannot_be_exported_is_skipped_not_chosen(tmp_path):
    selector = EpochSelector(SYNTHETIC, tmp_path, resume=False)

    def unfinished(path):
        raise UnfinishedPruningError("eliminated blocks [3] are still active")

    assert selector.validate(1, unfinished, _factory) is None
    assert selector.best is None and "still active" in selector.history[0]["skipped"]
    assert not (tmp_path / "best.pt").exists()


def test_validation_scenes_are_their_own_and_repeatable():
    first = list(validation_scenes(SYNTHETIC))
    again = list(validation_scenes(SYNTHETIC))
    assert len(first) == 2 and all(len(frames) == 12 and boxes.shape == (12, 4) for frames, boxes in first)
    assert all(np.array_equal(a[1], b[1]) and np.array_equal(a[0][5], b[0][5]) for a, b in zip(first, again))
    other_seeds = list(validation_scenes({**SYNTHETIC, "first_seed": 100_000}))  # the benchmarks' held-out seeds
    assert not np.array_equal(first[0][1], other_seeds[0][1])


def test_real_validation_scenes_draw_from_the_chosen_sources(tmp_path, monkeypatch):
    installed = registry_root() / "opencv-doc"
    if not installed.is_dir():
        pytest.skip(f"opencv-doc is not installed ({FETCH_COMMAND} --opencv-doc-only)")
    (tmp_path / "opencv-doc").symlink_to(installed)  # a registry with that one source only
    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path))
    section = {**DEFAULTS["validation"], "scenes": 1, "frames": 5, "frame_size": [96, 128], "photos": "held_out"}
    with pytest.raises(SourceMissing, match="mate-backgrounds"):
        next(validation_scenes(section))  # the default sources
    frames, boxes = next(validation_scenes({**section, "packages": ["opencv-doc"]}))
    assert len(frames) == 5 and boxes.shape == (5, 4)


@pytest.mark.parametrize("key, value, message", [
    ("kind", "imagenet", "unknown validation.kind"),
    ("metric", "loss", "unknown validation.metric"),
    ("photos", "all", "validation.photos"),
    ("packages", "[opencv-doc, flickr]", "validation.packages"),
    ("packages", "opencv-doc", "validation.packages"),
    ("scenes", -1, "validation.scenes"),
    ("every", 0, "validation.every"),
])
def test_bad_validation_settings_fail_before_training(key, value, message):
    with pytest.raises(ValueError, match=message):
        load_config("tiny_teacher", [f"validation.{key}={value}"])


def test_a_teacher_run_hands_on_its_best_validated_epoch(tmp_path, capsys):
    run_dir = tmp_path / "teacher"
    overrides = [f"output_dir={run_dir}", "train.epochs=3", "data.samples_per_epoch=64", "train.log_interval=2",
                 "validation.kind=synthetic", "validation.scenes=2", "validation.frames=15",
                 "validation.frame_size=[120, 160]"]
    assert cli_main(["--config", "tiny_teacher", "--threads", "1", *overrides]) == 0
    record = json.loads((run_dir / "validation.json").read_text())
    assert [entry["epoch"] for entry in record["history"]] == [1, 2, 3]
    best = max(record["history"], key=lambda entry: entry["auc"])
    assert record["best"] == best
    assert (run_dir / "final.pt").read_bytes() == (run_dir / "best.pt").read_bytes()
    assert load_teacher(str(run_dir / "final.pt")) is not None  # the next stage's input format
    assert f"chosen epoch      {best['epoch']} (best on the validation scenes" in capsys.readouterr().out
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["validation"]["scenes"] == 2


def test_a_student_run_validates_through_the_tracker_it_exports(tmp_path):
    from mixformerv2_core import load_tracker

    from .test_trainer import TINY_RUN

    config = tmp_path / "student.yaml"
    config.write_text(yaml.safe_dump({**TINY_RUN, "validation": {**SYNTHETIC, "metric": "score_roc_auc"}}))
    run_dir = tmp_path / "student"
    assert cli_main(["--config", str(config), "--threads", "1", "--output-dir", str(run_dir)]) == 0
    record = json.loads((run_dir / "validation.json").read_text())
    assert [entry["epoch"] for entry in record["history"]] == [1, 2]
    assert all(0.0 <= entry["auc"] <= 1.0 and entry["scenes"] == 2 for entry in record["history"])
    assert (run_dir / "final.pt").read_bytes() == (run_dir / "best.pt").read_bytes()
    assert load_tracker(str(run_dir / "final.pt")) is not None


@pytest.mark.parametrize("override, factor", [("data.search_factor=3.5", 3.5),
                                              ("train.tracker_search_factor=4.5", 4.5)])
def test_a_teacher_is_validated_at_the_search_factor_it_was_trained_for(tmp_path, override, factor):
    from mixformerv2_training.stages import build_stage
    from mixformerv2_training.synthetic_eval import teacher_tracker

    stage = build_stage(load_config("tiny_teacher", [override]))
    exported = stage.export(tmp_path / "teacher.pt", {})
    assert stage.tracker_factory(exported)().params.search_factor == factor
    # the file carries it to whoever tracks with it later (benchmarks, synthetic_eval), unless they set one
    assert teacher_tracker(str(exported)).params.search_factor == factor
    assert teacher_tracker(str(exported), search_factor=6.0).params.search_factor == 6.0
    official = tmp_path / "MixFormer_ep0500.pth.tar"  # no factor saved: the tracker's default
    torch.save({"net": stage.model.state_dict()}, official)
    assert teacher_tracker(str(official)).params.search_factor == teacher_tracker(stage.model).params.search_factor
