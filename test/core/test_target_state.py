"""The target state machine on scripted score sequences, and how the tracker uses its states."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mixformerv2_core import MixFormerV2Tracker, TargetState, TrackerParams, resolve_params
from mixformerv2_core.backends import TorchBackend
from mixformerv2_core.config import VARIANT_TRACKING, VARIANTS
from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_core.target_state import StateRules, TargetStateMachine

T, U, L, R = TargetState.TRACKING, TargetState.UNCERTAIN, TargetState.LOST, TargetState.REACQUIRED


def run_machine(scores, relocated=(), **rules):
    machine = TargetStateMachine(StateRules(**{"lost_threshold": 0.25, "lost_after": 3, "reacquire_threshold": 0.5,
                                               "found_after": 2, **rules}))
    return [machine.step(score, index in relocated) for index, score in enumerate(scores)]


def test_one_bad_frame_does_not_flip_the_state():
    assert run_machine([0.9, 0.1, 0.9, 0.1, 0.1, 0.9]) == [T, U, T, U, U, T]


def test_lost_after_n_frames_under_the_threshold_and_found_after_m_above():
    scores = [0.9, 0.1, 0.2, 0.0, 0.1, 0.6, 0.3, 0.6, 0.7, 0.8, 0.1]
    assert run_machine(scores) == [T, U, U, L, L, L, L, L, R, T, U]


def test_scores_between_the_thresholds_neither_lose_nor_find():
    # at or above lost_threshold keeps tracking; under reacquire_threshold never confirms a lost target
    assert run_machine([0.25, 0.3, 0.1, 0.1, 0.1, 0.4, 0.49, 0.49, 0.45]) == [T, T, U, U, L, L, L, L, L]


def test_a_jump_restarts_the_confirmation():
    scores = [0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9]
    assert run_machine(scores, relocated={3, 4}) == [U, U, L, L, L, R, T]  # frame 4 jumped again: count restarts
    assert run_machine(scores, relocated={3}) == [U, U, L, L, R, T, T]


def test_nan_scores_count_as_not_seen():
    nan = float("nan")
    assert run_machine([nan, nan, nan, nan, nan]) == [U, U, L, L, L]
    assert run_machine([0.1, 0.1, 0.1, 0.9, nan, 0.9, 0.9]) == [U, U, L, L, L, L, R]


@pytest.mark.parametrize("lost_after,found_after", [(1, 1), (2, 3), (5, 1)])
def test_frame_counts_are_parameters(lost_after, found_after):
    states = run_machine([0.0] * 6 + [1.0] * 4, lost_after=lost_after, found_after=found_after)
    assert states.index(L) == lost_after - 1
    assert states.index(R) == 6 + found_after - 1
    assert set(states[:lost_after - 1]) <= {U}


def test_unset_state_settings_take_their_documented_defaults():
    params = TrackerParams(reacquire=None, lost_threshold=None, lost_after=None, reacquire_threshold=None,
                           found_after=None, reacquire_windows=None, reacquire_similarity=None).validate()
    assert params.state_rules() == TrackerParams().state_rules() == StateRules() == StateRules(0.25, 3, 0.5, 1)
    assert (params.reacquire, params.reacquire_windows, params.reacquire_similarity) == ("wide", 3, 0.6)


def test_tracker_parameters_are_validated():
    for bad, message in [(dict(reacquire="sometimes"), "reacquire must be"), (dict(lost_after=0), "lost_after"),
                         (dict(found_after=1.5), "found_after"), (dict(reacquire_windows=0), "reacquire_windows"),
                         (dict(lost_threshold=1.5), "lost_threshold"),
                         (dict(reacquire_similarity=-0.5), "reacquire_similarity must lie in \\[0, 1\\]"),
                         (dict(lost_threshold=0.6, reacquire_threshold=0.5), "reacquire_threshold")]:
        with pytest.raises(ValueError, match=message):
            TrackerParams(**bad).validate()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_benchmark_presets_are_the_official_tracker_and_plain_use_reacquires(variant):
    for preset in VARIANT_TRACKING[variant].presets:
        assert resolve_params(VARIANTS[variant], preset).reacquire == "off"
        assert resolve_params(VARIANTS[variant], preset, reacquire="wide").reacquire == "wide"  # the user wins
    assert resolve_params(VARIANTS[variant]).reacquire == "wide"
    assert resolve_params(VARIANTS[variant], reacquire=None).reacquire == "wide"  # None = not set


class RecordingBackend(TorchBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.installed = []

    def set_templates(self, key, template, online_template):
        self.installed.append((template.copy(), online_template.copy()))
        super().set_templates(key, template, online_template)


def scripted_scores(model, logits):
    """The real network, its score logit replaced frame by frame from ``logits`` (per forward, every row)."""
    scripted = iter(logits)
    original = model.forward_search

    def forward_search(*args, **kwargs):
        out = original(*args, **kwargs)
        out["pred_scores"] = torch.full_like(out["pred_scores"], next(scripted))
        return out

    model.forward_search = forward_search
    return model


@pytest.mark.parametrize("reacquire", ["off", "wide"])
def test_no_online_template_from_uncertain_or_lost_frames(tiny_model, reacquire):
    seq = generate_sequence(seed=3, num_frames=13, frame_size=(120, 160))
    # Frames 1-12, template updates at 4, 8 and 12. Frame 1 is confident; 2-5 low (uncertain, uncertain, lost,
    # lost); 6-7 saturated (lost while confirming, reacquired); 8 tracking but under update_threshold 0.5.
    high, low = 20.0, -20.0
    logits = [3.0, low, low, low, low, high, high, -0.5, 2.0, 4.0, 1.0, 1.0]
    backend = RecordingBackend(scripted_scores(tiny_model, logits))
    tracker = MixFormerV2Tracker(backend, TrackerParams(update_interval=4, search_factor=4.0, reacquire=reacquire,
                                                        reacquire_windows=1, found_after=2, reacquire_similarity=0.0))
    tracker.initialize(seq.frames[0], seq.boxes[0])
    results = [tracker.track(frame) for frame in seq.frames[1:]]
    assert [r.state for r in results] == [T, U, U, L, L, L, R, T, T, T, T, T]
    assert len(backend.installed) == 4
    initial = backend.installed[0][0]
    first, second, third = (online for _, online in backend.installed[1:])
    assert not np.array_equal(first, initial) and not np.array_equal(third, initial)
    if reacquire == "off":  # the official tracker takes frame 6 (score 1.0) although its target was lost
        assert not np.array_equal(second, initial)
    else:  # frames 5-7 were lost or just reacquired, 8 under 0.5: the interval falls back to the initial template
        np.testing.assert_array_equal(second, initial)


def test_state_settings_change_while_tracking(tiny_model):
    seq = generate_sequence(seed=3, num_frames=6, frame_size=(120, 160))
    tracker = MixFormerV2Tracker(TorchBackend(with_bias(tiny_model, -20.0)), TrackerParams(search_factor=4.0))
    multi = tracker._multi
    tracker.initialize(seq.frames[0], seq.boxes[0])
    assert [tracker.track(frame).state for frame in seq.frames[1:3]] == [U, U]
    with pytest.raises(ValueError, match="reacquire_threshold"):
        multi.set_state_settings(lost_threshold=0.9)  # above reacquire_threshold 0.5: refused, nothing changed
    with pytest.raises(ValueError, match="not a state setting"):
        multi.set_state_settings(search_factor=2.0)
    assert multi.params.lost_threshold == 0.25
    multi.set_state_settings(lost_after=5)
    assert [tracker.track(frame).state for frame in seq.frames[3:6]] == [U, U, L]  # counts kept: 3, 4, 5


def with_bias(model, bias):
    with torch.no_grad():
        model.score_head.layers[1].bias.fill_(bias)
    return model
