"""Tracker behaviour: official update schedule, batching, determinism and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mixformerv2_core import MixFormerV2Tracker, MultiTargetTracker, TrackerParams, load_tracker, resolve_params
from mixformerv2_core.backends import TorchBackend
from mixformerv2_core.config import VARIANTS
from mixformerv2_core.geometry import crop_window
from mixformerv2_core.preprocessing import crop_and_normalize
from mixformerv2_core.synthetic import generate_sequence


class RecordingBackend(TorchBackend):
    """The real torch backend, remembering which templates the tracker installs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.installed = []

    def set_templates(self, key, template, online_template):
        self.installed.append((key, template.copy(), online_template.copy()))
        super().set_templates(key, template, online_template)


def with_score_bias(model, bias):
    with torch.no_grad():
        model.score_head.layers[1].bias.fill_(bias)
    return model


@pytest.fixture(scope="module")
def sequence():
    return generate_sequence(seed=5, num_frames=25, frame_size=(120, 160))


def run(tracker, seq, count=None):
    tracker.initialize(seq.frames[0], seq.boxes[0])
    return [tracker.track(frame) for frame in seq.frames[1:count]]


def test_tracking_is_deterministic_and_boxes_stay_on_the_image(tiny_checkpoint, sequence):
    first = run(load_tracker(str(tiny_checkpoint)), sequence)
    second = run(load_tracker(str(tiny_checkpoint)), sequence)
    assert [r.box for r in first] == [r.box for r in second]
    assert [r.score for r in first] == [r.score for r in second]
    for result in first:
        x, y, w, h = result.box
        assert 0 <= x <= 160 - 10 and 0 <= y <= 120 - 10 and w >= 10 and h >= 10 and 0 <= result.score <= 1
    assert [r.frame_index for r in first] == list(range(1, len(sequence.frames)))


def test_cached_and_full_forward_trackers_agree(tiny_checkpoint, sequence):
    cached = run(load_tracker(str(tiny_checkpoint), update_interval=4), sequence)
    full = run(load_tracker(str(tiny_checkpoint), update_interval=4, use_cache=False), sequence)
    np.testing.assert_allclose([r.box for r in cached], [r.box for r in full], atol=1e-3)
    np.testing.assert_allclose([r.score for r in cached], [r.score for r in full], atol=1e-5)


def test_confident_frames_swap_in_the_best_crop_every_interval(tiny_model, sequence):
    # Logits around 20 differ from frame to frame, but their float32 sigmoid is exactly 1.0 (as in the official
    # tracker), so the first confident frame of each interval must keep the slot.
    backend = RecordingBackend(with_score_bias(tiny_model, 20.0))
    tracker = MixFormerV2Tracker(backend, TrackerParams(update_interval=5, search_factor=4.0))
    results = run(tracker, sequence, count=12)
    assert [len(backend.installed)] == [3]  # initialise + frames 5 and 10
    initial = backend.installed[0][1]
    for (_, template, online), swap_frame in zip(backend.installed[1:], (5, 10)):
        np.testing.assert_array_equal(template, initial)  # the static template never changes
        # max score saturates at 1.0, so the first confident frame after each reset is kept: 1, then 6
        first_of_interval = swap_frame - 4
        expected, _ = crop_and_normalize(sequence.frames[first_of_interval], results[first_of_interval - 1].box, 2.0,
                                         tiny_model.config.template_size)
        np.testing.assert_allclose(online, expected)


def test_unconfident_intervals_fall_back_to_the_initial_template(tiny_model, sequence):
    backend = RecordingBackend(with_score_bias(tiny_model, -20.0))  # every score ~0 < 0.5
    tracker = MixFormerV2Tracker(backend, TrackerParams(update_interval=3, search_factor=4.0))
    run(tracker, sequence, count=10)
    assert len(backend.installed) == 4  # init + frames 3, 6, 9
    for _, template, online in backend.installed[1:]:
        np.testing.assert_array_equal(online, template)


def test_batched_multi_target_equals_independent_trackers(tiny_checkpoint, sequence):
    boxes = {"a": sequence.boxes[0], "b": (20.0, 30.0, 25.0, 18.0)}
    multi = MultiTargetTracker.from_checkpoint(str(tiny_checkpoint), update_interval=4)
    singles = {key: load_tracker(str(tiny_checkpoint), update_interval=4) for key in boxes}
    for key, box in boxes.items():
        multi.add(key, sequence.frames[0], box)
        singles[key].initialize(sequence.frames[0], box)
    for frame in sequence.frames[1:10]:
        batched = multi.track(frame)
        for key, tracker in singles.items():
            alone = tracker.track(frame)
            np.testing.assert_allclose(batched[key].box, alone.box, atol=1e-3)
            assert batched[key].score == pytest.approx(alone.score, abs=1e-5)


def test_targets_can_be_added_and_removed_at_any_time(tiny_checkpoint, sequence):
    multi = MultiTargetTracker.from_checkpoint(str(tiny_checkpoint))
    multi.add(1, sequence.frames[0], sequence.boxes[0])
    assert set(multi.track(sequence.frames[1])) == {1}
    multi.add(2, sequence.frames[1], (5, 5, 30, 30))
    assert set(multi.track(sequence.frames[2])) == {1, 2}
    assert multi.remove(1) and not multi.remove(1)
    assert set(multi.track(sequence.frames[3])) == {2}
    multi.reset()
    with pytest.raises(RuntimeError, match="before any target"):
        multi.track(sequence.frames[4])


def test_warm_up_leaves_no_target_and_changes_no_result(tiny_checkpoint, sequence):
    cold = MultiTargetTracker.from_checkpoint(str(tiny_checkpoint), update_interval=4)
    warm = MultiTargetTracker.from_checkpoint(str(tiny_checkpoint), update_interval=4)
    warm.warm_up(frame_size=(120, 160))
    assert len(warm) == 0 and warm.target_ids == []
    for tracker in (cold, warm):
        tracker.add("a", sequence.frames[0], sequence.boxes[0])
    for frame in sequence.frames[1:8]:
        np.testing.assert_array_equal(warm.track(frame)["a"].box, cold.track(frame)["a"].box)
    with pytest.raises(RuntimeError, match="without targets"):
        warm.warm_up()


def test_place_moves_the_next_search_and_keeps_the_templates(tiny_model, sequence):
    backend = RecordingBackend(tiny_model)
    tracker = MixFormerV2Tracker(backend, TrackerParams(update_interval=100, search_factor=4.0))
    with pytest.raises(RuntimeError, match="before initialize"):
        tracker.place((1, 1, 5, 5))
    tracker.initialize(sequence.frames[0], sequence.boxes[0])
    tracker.track(sequence.frames[1])
    placed = (40.0, 30.0, 20.0, 16.0)
    assert tracker.place(placed) == placed
    result = tracker.track(sequence.frames[2])
    expected = crop_window(placed, 4.0, tiny_model.config.search_size)
    assert result.search_window == expected  # the search went where the box was placed
    assert len(backend.installed) == 1  # no template was taken from the placed box
    for bad, message in [((1, 1, 0, 5), "positive"), ((float("inf"), 1, 5, 5), "non-finite"), ((1, 2), "4 numbers")]:
        with pytest.raises(ValueError, match=message):
            tracker.place(bad)
    multi = MultiTargetTracker(TorchBackend(tiny_model))
    with pytest.raises(KeyError):
        multi.place("nobody", placed)


@pytest.mark.parametrize("device_crops", [False, True], ids=["host_crops", "device_crops"])
def test_bad_input_is_refused_with_a_reason(tiny_checkpoint, device_crops):
    tracker = load_tracker(str(tiny_checkpoint), backend_options={"device_crops": device_crops})
    frame = np.zeros((60, 80, 3), np.uint8)
    with pytest.raises(RuntimeError, match="before initialize"):
        tracker.track(frame)
    for box, message in [((10, 10, 0, 0), "positive"), ((10, 10, -5, 5), "positive"),
                         ((float("nan"), 0, 5, 5), "non-finite"), ((500, 500, 10, 10), "outside")]:
        with pytest.raises(ValueError, match=message):
            tracker.initialize(frame, box)
    for bad, message in [(frame.astype(np.float32), "uint8"), (frame[..., 0], "HxWx3"),
                         (np.zeros((0, 5, 3), np.uint8), "empty"), ([[1, 2, 3]], "numpy array")]:
        with pytest.raises(ValueError, match=message):
            tracker.initialize(bad, (1, 1, 5, 5))
    tracker.initialize(frame, (10, 10, 20, 20))
    with pytest.raises(ValueError, match="uint8"):
        tracker.track(frame.astype(np.int16))


@pytest.mark.parametrize("device_crops", [False, True], ids=["host_crops", "device_crops"])
def test_target_leaving_the_frame_never_crashes(tiny_checkpoint, device_crops):
    tracker = load_tracker(str(tiny_checkpoint), search_factor=6.0, backend_options={"device_crops": device_crops})
    rng = np.random.default_rng(3)
    tracker.initialize(rng.integers(0, 255, (50, 70, 3), dtype=np.uint8), (0, 0, 3, 3))
    for size in [(50, 70), (20, 30), (11, 11), (400, 300)]:  # frames may even change size
        result = tracker.track(rng.integers(0, 255, size + (3,), dtype=np.uint8))
        assert all(np.isfinite(result.box))


def test_bgr_input_gives_the_same_result_as_rgb(tiny_checkpoint, sequence):
    rgb = run(load_tracker(str(tiny_checkpoint)), sequence, count=6)
    bgr_tracker = load_tracker(str(tiny_checkpoint), color_order="bgr")
    bgr_tracker.initialize(np.ascontiguousarray(sequence.frames[0][..., ::-1]), sequence.boxes[0])
    bgr = [bgr_tracker.track(np.ascontiguousarray(f[..., ::-1])) for f in sequence.frames[1:6]]
    assert [r.box for r in rgb] == [r.box for r in bgr]


def test_parameter_resolution_and_presets():
    assert resolve_params(VARIANTS["B"]).search_factor == 5.0
    assert resolve_params(VARIANTS["S"]).search_factor == 4.4
    got10k = resolve_params(VARIANTS["S"], preset="got10k_test")
    assert (got10k.search_factor, got10k.update_interval) == (4.55, 15)
    assert resolve_params(VARIANTS["B"], preset="got10k_test").update_interval == 10
    ours = resolve_params(VARIANTS["S"], checkpoint_defaults={"search_factor": 3.0}, update_interval=7)
    assert (ours.search_factor, ours.update_interval) == (3.0, 7)
    with pytest.raises(ValueError, match="unknown tracker parameters"):
        resolve_params(VARIANTS["S"], online_size=3)
    with pytest.raises(ValueError, match="unknown tracker preset"):
        resolve_params(VARIANTS["S"], preset="uav999")
    with pytest.raises(ValueError, match="update_interval"):
        TrackerParams(update_interval=0).validate()
    with pytest.raises(ValueError, match="color_order"):
        TrackerParams(color_order="yuv").validate()


def test_reduced_precision_backend_tracks_close_to_float32(tiny_model, sequence):
    reference = MixFormerV2Tracker(TorchBackend(tiny_model), TrackerParams(search_factor=4.0))
    bf16 = MixFormerV2Tracker(TorchBackend(tiny_model, dtype="bfloat16"), TrackerParams(search_factor=4.0))
    a, b = run(reference, sequence, count=4), run(bf16, sequence, count=4)
    # bfloat16 keeps 8 bits of mantissa: boxes agree to a few pixels on a 160x120 frame, never NaN
    np.testing.assert_allclose([r.box for r in a], [r.box for r in b], atol=4.0)
    with pytest.raises(ValueError, match="float16 inference is only offered on CUDA"):
        TorchBackend(tiny_model, dtype="float16")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        TorchBackend(tiny_model, device="cuda")


def test_confidence_is_the_official_float32_sigmoid():
    from mixformerv2_core.tracker import confidence

    scores = confidence(np.array([0.0, 2.0, 16.0, 17.0, 30.0, np.inf, -np.inf, np.nan], dtype=np.float32))
    assert scores[0] == 0.5 and scores[1] == pytest.approx(0.8807970779778823, abs=1e-7)
    assert scores[2] < 1.0 and scores[3:6] == [1.0, 1.0, 1.0] and scores[6:] == [0.0, 0.0]


def test_lost_rule_is_one_threshold_and_nan_counts_as_lost():
    from mixformerv2_core import DEFAULT_LOST_THRESHOLD, TrackResult, is_lost

    assert not is_lost(DEFAULT_LOST_THRESHOLD) and is_lost(DEFAULT_LOST_THRESHOLD - 1e-6)
    assert is_lost(float("nan")) and is_lost(0.6, threshold=0.7) and not is_lost(0.7, threshold=0.7)
    assert TrackResult("a", (0.0, 0.0, 4.0, 4.0), 0.1, 3).is_lost()
    assert not TrackResult("a", (0.0, 0.0, 4.0, 4.0), 0.1, 3).is_lost(threshold=0.05)
