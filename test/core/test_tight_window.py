"""The tighter second search window: one batch, the better-scoring window's box, off by default and while lost."""
from __future__ import annotations

import math

import pytest

from mixformerv2_core import MixFormerV2Tracker, MultiTargetTracker, TargetState, TrackerParams
from mixformerv2_core.cli.export import export_checkpoint
from mixformerv2_core.synthetic import generate_sequence

from core.test_reacquire import CountingBackend, with_score_bias


def _tracker(model, **params) -> tuple[MixFormerV2Tracker, CountingBackend]:
    backend = CountingBackend(model)
    return MixFormerV2Tracker(backend, TrackerParams(**{"search_factor": 4.0, **params})), backend


def test_each_step_keeps_the_box_of_the_better_scoring_window(tiny_model):
    seq = generate_sequence(seed=3, num_frames=6, frame_size=(120, 160))
    tight, backend = _tracker(tiny_model, tight_search_factor=2.5)
    wide_only, _ = _tracker(tiny_model)
    tight_only, _ = _tracker(tiny_model, search_factor=2.5)
    for tracker in (tight, wide_only, tight_only):
        tracker.initialize(seq.frames[0], seq.boxes[0])
    picked = set()
    for frame in seq.frames[1:]:
        before = tight._multi.last_result(tight.TARGET_ID).box
        for alone in (wide_only, tight_only):  # each window on its own, from the same box
            alone.place(before)
        result, wide, close = tight.track(frame), wide_only.track(frame), tight_only.track(frame)
        better = wide if wide.score >= close.score else close
        assert result.box == pytest.approx(better.box, abs=1e-3) and result.score == pytest.approx(better.score, abs=1e-4)
        assert result.search_window.size == better.search_window.size
        picked.add(better is close)
    assert backend.batches == [[tight.TARGET_ID] * 2] * 5  # both windows in one forward per frame
    assert picked == {True, False}  # this sequence exercises both choices


def test_off_by_default_and_while_lost_the_wide_search_has_the_batch(tiny_model):
    seq = generate_sequence(seed=5, num_frames=8, frame_size=(120, 160))
    sizes = {}
    for factor in (0.0, 2.5):
        tracker, backend = _tracker(with_score_bias(tiny_model, -20.0), tight_search_factor=factor, reacquire_windows=3)
        tracker.initialize(seq.frames[0], seq.boxes[0])
        states = [tracker.track(frame).state for frame in seq.frames[1:]]
        sizes[factor] = [len(batch) for batch in backend.batches]
        assert states[2:] == [TargetState.LOST] * 5
    assert sizes[0.0] == [1, 1, 1, 3, 3, 3, 3]  # the official single window until lost
    assert sizes[2.5] == [2, 2, 2, 3, 3, 3, 3]  # the tight window joins until lost, then the wide search alone


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_an_unusable_factor_is_refused(value):
    with pytest.raises(ValueError, match="tight_search_factor"):
        TrackerParams(tight_search_factor=value).validate()


def test_weights_store_it_and_the_user_may_turn_it_off(tiny_checkpoint, tmp_path):
    stored = export_checkpoint(tiny_checkpoint, tmp_path / "stored.pt", tracker_defaults={"tight_search_factor": 3.0})
    assert MultiTargetTracker.from_checkpoint(str(tiny_checkpoint)).params.tight_search_factor == 0.0
    assert MultiTargetTracker.from_checkpoint(str(stored)).params.tight_search_factor == 3.0
    assert MultiTargetTracker.from_checkpoint(str(stored), tight_search_factor=0.0).params.tight_search_factor == 0.0
    assert MultiTargetTracker.from_checkpoint(str(stored), tight_search_factor=None).params.tight_search_factor == 3.0
