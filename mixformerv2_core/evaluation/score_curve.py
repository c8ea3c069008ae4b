"""How well a tracker's confidence tells tracked frames (IoU > 0.5) from the rest, and the lost threshold
that follows from it.

A model's ``lost_threshold`` should come from its own score distribution (a network trained on other data
scores background differently), so the threshold is read off the ROC curve of held-out frames. Two readings:
the score that maximises Youden's J (true-positive rate minus false-positive rate), where calling a frame
"lost" by mistake and calling a drift "tracking" weigh the same, which suits a score that says whether the
target is in the crop; and the highest score that keeps a stated share of the tracked frames above it
(:meth:`ScoreCurve.threshold_keeping`), which suits a score that estimates the box's overlap: there Youden's
point lies near the overlap of 0.5 itself, and a tracker that stops at it gives up on boxes that still follow
the target.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRACKED_IOU = 0.5
KEPT_TRACKED_SHARE = 0.95  # the share of tracked frames a lost threshold read by threshold_keeping leaves alone


@dataclass(frozen=True)
class ScoreCurve:
    """ROC of "score >= threshold" as a test for tracked frames; arrays in order of falling threshold."""

    thresholds: np.ndarray
    true_positive_rate: np.ndarray
    false_positive_rate: np.ndarray
    auc: float
    positives: int
    negatives: int

    @property
    def best_threshold(self) -> float:
        """The threshold with the largest Youden's J; NaN when one kind of frame is missing."""
        if not self.positives or not self.negatives:
            return float("nan")
        return float(self.thresholds[int(np.argmax(self.true_positive_rate - self.false_positive_rate))])

    def threshold_keeping(self, share: float = KEPT_TRACKED_SHARE) -> float:
        """The highest threshold at which at least ``share`` of the tracked frames score at or above it;
        NaN when one kind of frame is missing.
        """
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share must lie in (0, 1], got {share}")
        if not self.positives or not self.negatives:
            return float("nan")
        return float(self.thresholds[int(np.argmax(self.true_positive_rate >= share - 1e-12))])

    def rates_at(self, threshold: float) -> tuple[float, float]:
        """(true-positive rate, false-positive rate) of calling frames at or above ``threshold`` tracked."""
        index = np.searchsorted(-self.thresholds, -threshold, side="right") - 1
        if index < 0:
            return 0.0, 0.0
        return float(self.true_positive_rate[index]), float(self.false_positive_rate[index])


def score_curve(scores: np.ndarray, ious: np.ndarray, tracked_iou: float = TRACKED_IOU) -> ScoreCurve:
    """ROC of the confidence on frames pooled over sequences; a frame counts as tracked when IoU > ``tracked_iou``.

    Non-finite scores count as the lowest score (the tracker treats a NaN score as "not seen").
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64).ravel(), nan=-np.inf, posinf=np.inf)
    tracked = np.asarray(ious, dtype=np.float64).ravel() > tracked_iou
    if scores.shape != tracked.shape:
        raise ValueError(f"{scores.size} scores for {tracked.size} IoUs")
    positives, negatives = int(tracked.sum()), int((~tracked).sum())
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_tracked = scores[order], tracked[order]
    last_of_tie = np.r_[np.diff(sorted_scores) != 0, True] if len(scores) else np.zeros(0, dtype=bool)
    true_positives = np.cumsum(sorted_tracked)[last_of_tie]
    false_positives = np.cumsum(~sorted_tracked)[last_of_tie]
    tpr = true_positives / positives if positives else np.zeros(len(true_positives))
    fpr = false_positives / negatives if negatives else np.zeros(len(false_positives))
    auc = float(np.trapezoid(np.r_[0.0, tpr], np.r_[0.0, fpr])) if positives and negatives else float("nan")
    return ScoreCurve(sorted_scores[last_of_tie], tpr, fpr, auc, positives, negatives)


def plot_score_curves(curves: dict[str, ScoreCurve], path, title: str = "") -> None:
    """ROC curves, each with its best threshold marked, into an image file (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 5))
    for name, curve in curves.items():
        axes.plot(np.r_[0.0, curve.false_positive_rate], np.r_[0.0, curve.true_positive_rate],
                  label=f"{name} (AUC {curve.auc:.2f})")
        best = curve.best_threshold
        if np.isfinite(best):
            tpr, fpr = curve.rates_at(best)
            axes.plot([fpr], [tpr], "o", color=axes.lines[-1].get_color())
            axes.annotate(f"{best:.2f}", (fpr, tpr), textcoords="offset points", xytext=(6, -12))
    axes.plot([0, 1], [0, 1], ":", color="grey")
    axes.set(xlabel="false-positive rate (IoU <= 0.5 frames above it)",
             ylabel="true-positive rate (IoU > 0.5 frames above it)", xlim=(0, 1), ylim=(0, 1), title=title)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


__all__ = ["KEPT_TRACKED_SHARE", "ScoreCurve", "TRACKED_IOU", "plot_score_curves", "score_curve"]
