"""The score ROC that sets a model's lost threshold (mixformerv2_core.evaluation.score_curve)."""
from __future__ import annotations

import numpy as np
import pytest

from mixformerv2_core.evaluation.score_curve import plot_score_curves, score_curve


def _pairwise_auc(scores, tracked) -> float:
    positive, negative = scores[tracked], scores[~tracked]
    return float((positive[:, None] > negative[None, :]).mean() + 0.5 * (positive[:, None] == negative[None, :]).mean())


def test_auc_is_the_chance_a_tracked_frame_outscores_a_lost_one_ties_counting_half():
    rng = np.random.default_rng(0)
    ious = rng.uniform(0, 1, 500)
    scores = np.round(0.6 * ious + rng.uniform(0, 0.6, 500), 1)  # coarse: many ties
    curve = score_curve(scores, ious)
    assert curve.auc == pytest.approx(_pairwise_auc(scores, ious > 0.5), abs=1e-12)
    assert curve.positives + curve.negatives == 500 and 0.6 < curve.auc < 1.0
    assert np.all(np.diff(curve.thresholds) < 0) and curve.true_positive_rate[-1] == curve.false_positive_rate[-1] == 1


def test_best_threshold_separates_a_separable_score_and_reads_its_rates():
    ious = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.0])
    scores = np.array([0.9, 0.7, 0.6, 0.4, 0.3, 0.35])
    curve = score_curve(scores, ious)
    assert curve.auc == 1.0 and curve.best_threshold == 0.6
    assert curve.rates_at(0.6) == (1.0, 0.0) and curve.rates_at(0.35) == (1.0, 2 / 3) and curve.rates_at(0.95) == (0, 0)


def test_threshold_keeping_a_share_leaves_that_share_of_tracked_frames_above_it():
    ious = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1])
    scores = np.array([0.9, 0.5, 0.3, 0.1, 0.4, 0.05])
    curve = score_curve(scores, ious)
    assert curve.threshold_keeping(0.5) == 0.5  # two of four tracked frames at or above 0.5
    assert curve.threshold_keeping(0.75) == 0.3 and curve.threshold_keeping(0.95) == 0.1
    assert curve.threshold_keeping(1.0) == 0.1 and curve.rates_at(0.1)[0] == 1.0
    assert curve.threshold_keeping(0.95) < curve.best_threshold == 0.5
    assert np.isnan(score_curve([0.5, 0.6], [0.9, 0.9]).threshold_keeping())
    with pytest.raises(ValueError, match="share must lie in"):
        curve.threshold_keeping(0.0)


def test_nan_scores_count_as_lowest_and_one_sided_input_has_no_threshold():
    curve = score_curve([np.nan, 0.8, 0.2], [0.9, 0.9, 0.1])
    assert curve.auc == 0.5  # the NaN tracked frame ranks below the lost one
    assert np.isnan(score_curve([0.5, 0.6], [0.9, 0.9]).best_threshold)
    with pytest.raises(ValueError, match="3 scores for 2 IoUs"):
        score_curve([0.1, 0.2, 0.3], [0.9, 0.1])


def test_curves_plot_to_an_image(tmp_path):
    rng = np.random.default_rng(1)
    ious = rng.uniform(0, 1, 200)
    path = tmp_path / "roc.png"
    plot_score_curves({"model": score_curve(ious + rng.normal(0, 0.2, 200), ious)}, path, title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
