"""Single-object tracking metrics as the benchmarks define them.

Two families live here because the field uses two different conventions:

* OPE (one-pass evaluation) in the pytracking conventions that the official MixFormerV2 evaluation uses
  for LaSOT, LaSOT-ext, TNL2K, OTB, UAV123, NfS and TrackingNet-style numbers: inclusive-pixel centres,
  success curve over 21 IoU thresholds (strict ``>``), precision at 20 px and normalized precision at 0.2
  (``<=``), per-benchmark rules for invalid / absent frames, every frame in the denominator,
  sequence-averaged curves.
* GOT-10k average overlap (AO) and success rates, in the conventions of the ``got10k`` toolkit: continuous
  IoU of boxes clipped to the image, frame 0 skipped, absent frames dropped, frames pooled over sequences.

Everything is plain NumPy so the numbers can be recomputed anywhere (report, replay, tests).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

#: IoU thresholds 0, 0.05, ..., 1.0 (exact multiples of 1/20).
IOU_THRESHOLDS = np.arange(21, dtype=np.float64) / 20.0
#: Centre-error thresholds 0..50 px.
CENTER_THRESHOLDS = np.arange(51, dtype=np.float64)
#: Normalized centre-error thresholds 0, 0.01, ..., 0.50.
NORM_CENTER_THRESHOLDS = np.arange(51, dtype=np.float64) / 100.0
#: GOT-10k toolkit success curve: 101 thresholds 0, 0.01, ..., 1.0.
GOT10K_THRESHOLDS = np.arange(101, dtype=np.float64) / 100.0

PRECISION_PIXELS = 20.0
NORM_PRECISION_THRESHOLD = 0.2

_HIT = -1.0  # an error value that counts as a hit at every threshold
_MISS = np.inf  # an error value that counts as a miss at every threshold


@dataclass(frozen=True)
class OPEProtocol:
    """How one benchmark scores frames whose ground truth is absent or invalid.

    A frame is valid when all four ground-truth values are positive (pytracking's rule; NaN rows and
    ``0,0,0,0`` boxes are invalid) and, with ``uses_visibility``, the target is flagged visible.
    ``invalid_center_error`` / ``invalid_norm_error`` are what invalid frames get: ``-1`` makes them a hit at
    every threshold, ``inf`` a miss. ``invisible_is_miss`` then makes frames flagged invisible a miss for both
    precision measures (LaSOT; a visible frame with a ``0,0,0,0`` box keeps the invalid-frame values). IoU of
    an invalid frame is always ``-1`` (a miss at every threshold, including 0, because success is
    ``IoU > threshold``). ``strict_length`` makes a too-short prediction an error instead of padding it with
    zero boxes.
    """

    name: str
    invalid_center_error: float
    invalid_norm_error: float
    strict_length: bool = False
    uses_visibility: bool = False
    invisible_is_miss: bool = False


PROTOCOLS: dict[str, OPEProtocol] = {
    # Default OPE (OTB, TNL2K, NfS, TrackingNet-style): missing GT is a miss for IoU and precision but a hit
    # for normalized precision.
    "ope": OPEProtocol("ope", invalid_center_error=_MISS, invalid_norm_error=_HIT),
    # UAV123: NaN rows are hits for both precision measures.
    "uav": OPEProtocol("uav", invalid_center_error=_HIT, invalid_norm_error=_HIT),
    # LaSOT test: frames flagged fully occluded or out of view are misses for everything; a short result is
    # an error.
    "lasot": OPEProtocol(
        "lasot", invalid_center_error=_MISS, invalid_norm_error=_HIT, strict_length=True, uses_visibility=True,
        invisible_is_miss=True,
    ),
    # LaSOT extension (pytracking / OSTrack ``lasot_extension_subset``): flagged frames are invalid, hence
    # hits for normalized precision, and short results are padded with zero boxes.
    "lasot_ext": OPEProtocol("lasot_ext", invalid_center_error=_MISS, invalid_norm_error=_HIT, uses_visibility=True),
}


def get_protocol(name: str) -> OPEProtocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown OPE protocol {name!r}; known: {sorted(PROTOCOLS)}") from None


def _as_boxes(boxes: np.ndarray | Sequence, what: str) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{what} must be an (N, 4) array of x, y, w, h boxes, got shape {arr.shape}")
    return arr


def iou(pred: np.ndarray, gt: np.ndarray, clip: bool = True) -> np.ndarray:
    """Row-wise IoU of two (N, 4) ``x, y, w, h`` arrays; rows with non-positive union give 0.

    ``clip=False`` keeps pytracking's unclipped ratio, which rounding can push to ``1 + ulp`` on float boxes
    so that a perfect box passes the strict test at threshold 1.0 (the official numbers include that).

    pytracking's inclusive-pixel formula (corners at ``x + w - 1``, sides ``+ 1``) and the got10k toolkit's
    continuous rectangles give the same intersection, so one function serves both protocols; the
    conventions differ only in box centres (:func:`box_centers`) and in clipping (:func:`clip_to_image`).
    """
    pred = _as_boxes(pred, "prediction")
    gt = _as_boxes(gt, "ground truth")
    if pred.shape != gt.shape:
        raise ValueError(f"IoU needs boxes of equal count, got {pred.shape} and {gt.shape}")
    iw = np.minimum(pred[:, 0] + pred[:, 2], gt[:, 0] + gt[:, 2]) - np.maximum(pred[:, 0], gt[:, 0])
    ih = np.minimum(pred[:, 1] + pred[:, 3], gt[:, 1] + gt[:, 3]) - np.maximum(pred[:, 1], gt[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
    positive = union > 0
    ratio = np.where(positive, inter / np.where(positive, union, 1.0), 0.0)
    # clipped: rounding can push identical boxes to 1 + 2e-16, which would pass the strict test at 1.0
    return np.clip(ratio, 0.0, 1.0) if clip else ratio


def box_centers(boxes: np.ndarray) -> np.ndarray:
    """Centres in the inclusive-pixel convention: ``x + (w - 1) / 2``."""
    boxes = _as_boxes(boxes, "boxes")
    return boxes[:, :2] + 0.5 * (boxes[:, 2:] - 1.0)


def check_prediction(pred: np.ndarray) -> np.ndarray:
    """NaN values or negative sizes in a result are an error in every protocol: they mean a broken result
    file, not a tracking failure (pytracking refuses them too; the got10k toolkit would report a NaN AO)."""
    pred = _as_boxes(pred, "prediction")
    if np.isnan(pred).any():
        raise ValueError("prediction contains NaN values")
    if (pred[:, 2:] < 0).any():
        raise ValueError("prediction contains negative widths or heights")
    return pred


def prepare_prediction(pred: np.ndarray, gt: np.ndarray, protocol: OPEProtocol) -> np.ndarray:
    """Bring a raw prediction into the shape the OPE metrics expect (pytracking rules).

    A box with zero width or height repeats the previous frame's box (unless that frame's ground truth is
    NaN), then extra rows are dropped and missing rows become zero boxes (LaSOT: missing rows are an error),
    and frame 0 becomes the ground-truth box (it is the initialisation). NaN or negative sizes are an
    error: they mean a broken result file, not a tracking failure.
    """
    pred = check_prediction(pred).copy()
    gt = _as_boxes(gt, "ground truth")
    n = len(gt)
    for i in range(1, len(pred)):
        if (pred[i, 2:] == 0).any() and (i >= n or not np.isnan(gt[i]).any()):
            pred[i] = pred[i - 1]
    if len(pred) < n:
        if protocol.strict_length:
            raise ValueError(f"prediction has {len(pred)} frames but the ground truth has {n}")
        pred = np.concatenate([pred, np.zeros((n - len(pred), 4))], axis=0)
    pred = pred[:n]
    if n:
        pred[0] = gt[0]
    return pred


@dataclass
class SequenceErrors:
    """Per-frame IoU, centre error and normalized centre error of one sequence (invalid frames encoded)."""

    name: str
    ious: np.ndarray
    center_errors: np.ndarray
    norm_center_errors: np.ndarray

    def __len__(self) -> int:
        return len(self.ious)


def sequence_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    protocol: str | OPEProtocol = "ope",
    visible: np.ndarray | None = None,
    name: str = "",
    clip_iou: bool = True,
) -> SequenceErrors:
    """Per-frame errors of one sequence with the benchmark's invalid-frame encoding applied
    (``clip_iou=False``: the official unclipped IoU, see :func:`iou`)."""
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    gt = _as_boxes(gt, "ground truth")
    pred = prepare_prediction(pred, gt, proto)
    with np.errstate(invalid="ignore"):
        valid = (gt > 0).all(axis=1)  # NaN compares False: NaN rows are invalid too
    invisible = np.zeros(len(gt), dtype=bool)
    if proto.uses_visibility and visible is not None:
        visible = np.asarray(visible, dtype=bool)
        if visible.shape != (len(gt),):
            raise ValueError(f"visibility has {visible.shape} entries but the ground truth has {len(gt)} frames")
        valid &= visible
        invisible = ~visible if proto.invisible_is_miss else invisible
    safe_gt = np.where(valid[:, None], gt, 1.0)
    ious = np.where(valid, iou(pred, safe_gt, clip_iou), -1.0)
    diff = box_centers(pred) - box_centers(safe_gt)
    center = np.where(valid, np.hypot(diff[:, 0], diff[:, 1]), proto.invalid_center_error)
    ndiff = box_centers(pred) / safe_gt[:, 2:] - box_centers(safe_gt) / safe_gt[:, 2:]
    norm = np.where(valid, np.hypot(ndiff[:, 0], ndiff[:, 1]), proto.invalid_norm_error)
    center[invisible] = _MISS
    norm[invisible] = _MISS
    return SequenceErrors(name, ious, center, norm)


def success_curve(ious: np.ndarray, thresholds: np.ndarray = IOU_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with IoU strictly above each threshold."""
    ious = np.asarray(ious, dtype=np.float64)
    if ious.size == 0:
        return np.zeros(len(thresholds))
    return (ious[:, None] > thresholds[None, :]).mean(axis=0)


def precision_curve(errors: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of frames with an error at most each threshold."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.size == 0:
        return np.zeros(len(thresholds))
    return (errors[:, None] <= thresholds[None, :]).mean(axis=0)


@dataclass
class OPEResult:
    """Dataset-level OPE numbers (percent) and the curves behind them (fractions)."""

    auc: float
    precision: float
    norm_precision: float
    op50: float
    op75: float
    success: np.ndarray
    precision_curve: np.ndarray
    norm_precision_curve: np.ndarray
    per_sequence: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        return {
            "AUC": self.auc,
            "P": self.precision,
            "P_norm": self.norm_precision,
            "OP50": self.op50,
            "OP75": self.op75,
        }


def ope_result(sequences: Iterable[SequenceErrors]) -> OPEResult:
    """Average per-sequence curves over sequences (each sequence weighs the same)."""
    succ, prec, nprec, per_seq = [], [], [], {}
    for seq in sequences:
        s = success_curve(seq.ious)
        p = precision_curve(seq.center_errors, CENTER_THRESHOLDS)
        n = precision_curve(seq.norm_center_errors, NORM_CENTER_THRESHOLDS)
        succ.append(s)
        prec.append(p)
        nprec.append(n)
        per_seq[seq.name] = {
            "AUC": 100.0 * float(s.mean()),
            "P": 100.0 * float(p[20]),
            "P_norm": 100.0 * float(n[20]),
            "frames": float(len(seq)),
        }
    if not succ:
        raise ValueError("no sequences to evaluate")
    s, p, n = (np.mean(np.stack(x), axis=0) for x in (succ, prec, nprec))
    return OPEResult(
        auc=100.0 * float(s.mean()),
        precision=100.0 * float(p[int(PRECISION_PIXELS)]),
        norm_precision=100.0 * float(n[int(round(NORM_PRECISION_THRESHOLD * 100))]),
        op50=100.0 * float(s[10]),
        op75=100.0 * float(s[15]),
        success=s,
        precision_curve=p,
        norm_precision_curve=n,
        per_sequence=per_seq,
    )


# --------------------------------------------------------------------------------------------------------
# GOT-10k


def clip_to_image(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Clip ``x, y, w, h`` boxes to ``[0, width] x [0, height]`` (got10k toolkit's bound rule)."""
    b = _as_boxes(boxes, "boxes").copy()
    b[:, 0] = np.clip(b[:, 0], 0, width)
    b[:, 1] = np.clip(b[:, 1], 0, height)
    b[:, 2] = np.clip(b[:, 2], 0, width - b[:, 0])
    b[:, 3] = np.clip(b[:, 3], 0, height - b[:, 1])
    return b


def got10k_sequence_ious(
    pred: np.ndarray,
    gt: np.ndarray,
    visible: np.ndarray | None,
    image_size: tuple[int, int] | None,
) -> np.ndarray:
    """IoUs of the frames GOT-10k scores: frame 0 skipped, absent frames (``visible`` False) dropped.

    ``image_size`` is ``(width, height)``; both boxes are clipped to it as the official toolkit does. NaN or
    negative sizes are an error (:func:`check_prediction`), as in the OPE protocols.
    """
    pred = check_prediction(pred)
    gt = _as_boxes(gt, "ground truth")
    if len(pred) != len(gt):
        raise ValueError(f"prediction has {len(pred)} frames but the ground truth has {len(gt)}")
    p, g = pred[1:], gt[1:]
    if image_size is not None:
        p, g = clip_to_image(p, *image_size), clip_to_image(g, *image_size)
    ious = iou(p, g)
    if visible is not None:
        visible = np.asarray(visible, dtype=bool)
        if visible.shape != (len(gt),):
            raise ValueError(f"visibility has {visible.shape} entries but the ground truth has {len(gt)} frames")
        ious = ious[visible[1:]]
    return ious


@dataclass
class GOT10kResult:
    ao: float
    sr50: float
    sr75: float
    success: np.ndarray
    per_sequence: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        return {"AO": self.ao, "SR0.5": self.sr50, "SR0.75": self.sr75}


def got10k_result(per_sequence_ious: Mapping[str, np.ndarray]) -> GOT10kResult:
    """AO / SR over all scored frames pooled together (got10k toolkit), in percent."""
    if not per_sequence_ious:
        raise ValueError("no sequences to evaluate")
    per_seq = {
        name: {
            "AO": 100.0 * float(np.mean(v)) if len(v) else float("nan"),
            "SR0.5": 100.0 * float(np.mean(v > 0.5)) if len(v) else float("nan"),
            "frames": float(len(v)),
        }
        for name, v in per_sequence_ious.items()
    }
    pooled = np.concatenate([np.asarray(v, dtype=np.float64) for v in per_sequence_ious.values()])
    if pooled.size == 0:
        raise ValueError("no visible frames to evaluate")
    return GOT10kResult(
        ao=100.0 * float(pooled.mean()),
        sr50=100.0 * float((pooled > 0.5).mean()),
        sr75=100.0 * float((pooled > 0.75).mean()),
        success=success_curve(pooled, GOT10K_THRESHOLDS),
        per_sequence=per_seq,
    )
