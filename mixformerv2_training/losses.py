"""Training losses: box regression (L1, GIoU, CIoU), logits distillation, feature mimicking, target attention.

Boxes are normalised; ``cxcywh`` is what the networks predict, ``xyxy`` what the IoU losses compare.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

SIDES = ("l", "r", "t", "b")


def cxcywh_to_xyxy(box: Tensor) -> Tensor:
    cx, cy, w, h = box.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def xywh_to_xyxy(box: Tensor) -> Tensor:
    x, y, w, h = box.unbind(-1)
    return torch.stack([x, y, x + w, y + h], dim=-1)


def _iou_parts(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """IoU, union and the enclosing box of ``(N, 4)`` xyxy boxes."""
    area_p = (pred[:, 2] - pred[:, 0]).clamp(min=0) * (pred[:, 3] - pred[:, 1]).clamp(min=0)
    area_t = (target[:, 2] - target[:, 0]).clamp(min=0) * (target[:, 3] - target[:, 1]).clamp(min=0)
    lt = torch.max(pred[:, :2], target[:, :2])
    rb = torch.min(pred[:, 2:], target[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    union = area_p + area_t - inter
    iou = inter / union.clamp(min=1e-7)
    enclosing = torch.cat([torch.min(pred[:, :2], target[:, :2]), torch.max(pred[:, 2:], target[:, 2:])], dim=1)
    return iou, union, enclosing


def giou(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Generalised IoU and IoU of ``(N, 4)`` xyxy boxes."""
    iou, union, enc = _iou_parts(pred, target)
    enc_area = (enc[:, 2:] - enc[:, :2]).clamp(min=0).prod(dim=1)
    return iou - (enc_area - union) / enc_area.clamp(min=1e-7), iou


def ciou(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Complete IoU (docs/training.md: the aspect term's weight is gated by IoU > 0.5 and carries no gradient)."""
    iou, _, enc = _iou_parts(pred, target)
    diag = ((enc[:, 2:] - enc[:, :2]).clamp(min=0) ** 2).sum(dim=1)
    centre_p = 0.5 * (pred[:, :2] + pred[:, 2:])
    centre_t = 0.5 * (target[:, :2] + target[:, 2:])
    rho = ((centre_p - centre_t) ** 2).sum(dim=1)
    wp, hp = pred[:, 2] - pred[:, 0], pred[:, 3] - pred[:, 1]
    wt, ht = target[:, 2] - target[:, 0], target[:, 3] - target[:, 1]
    v = (4 / math.pi**2) * (torch.atan(wt / ht.clamp(min=1e-7)) - torch.atan(wp / hp.clamp(min=1e-7))) ** 2
    with torch.no_grad():
        alpha = (iou > 0.5).to(v.dtype) * v / (1 - iou + v).clamp(min=1e-7)
    return (iou - rho / diag.clamp(min=1e-7) - alpha * v).clamp(-1, 1), iou


def _xyxy_pairs(pred_cxcywh: Tensor, target_xywh: Tensor) -> tuple[Tensor, Tensor]:
    """Predictions and the ground truth clamped to the crop, both ``(N, 4)`` xyxy."""
    pred = cxcywh_to_xyxy(pred_cxcywh.reshape(-1, 4).float())
    return pred, xywh_to_xyxy(target_xywh.reshape(-1, 4).float()).clamp(0, 1)


def box_losses(pred_cxcywh: Tensor, target_xywh: Tensor, iou_kind: str = "ciou") -> dict[str, Tensor]:
    """L1 and (1 - CIoU/GIoU) between predictions and the ground truth clamped to the crop."""
    pred, target = _xyxy_pairs(pred_cxcywh, target_xywh)
    overlap, iou = (ciou if iou_kind == "ciou" else giou)(pred, target)
    return {"l1": F.l1_loss(pred, target), "iou_loss": (1 - overlap).mean(), "iou": iou.detach().mean()}


def prediction_iou(pred_cxcywh: Tensor, target_xywh: Tensor) -> Tensor:
    """Per-sample IoU of predicted boxes with the ground truth clamped to the crop (no gradient)."""
    with torch.no_grad():
        return _iou_parts(*_xyxy_pairs(pred_cxcywh, target_xywh))[0]


def marginalize_corners(prob_tl: Tensor, prob_br: Tensor) -> dict[str, Tensor]:
    """Corner heat maps ``(B, F*F)`` (row-major: row = y) -> 1-D distributions of the four box sides (eq. 4)."""
    side = math.isqrt(prob_tl.shape[-1])
    if side * side != prob_tl.shape[-1]:
        raise ValueError(f"a corner heat map must be square, got {prob_tl.shape[-1]} cells")
    tl = prob_tl.reshape(-1, side, side)
    br = prob_br.reshape(-1, side, side)
    return {"l": tl.sum(dim=1), "t": tl.sum(dim=2), "r": br.sum(dim=1), "b": br.sum(dim=2)}


def resample_bins(prob: Tensor, num_bins: int) -> Tensor:
    """Move a distribution over bins ``k / F`` onto ``num_bins`` bins ``j / num_bins``, keeping its mean.

    Each source bin's mass is split linearly between its two neighbouring target bins (identity when the
    bin counts agree, which is what the reference requires).
    """
    source = prob.shape[-1]
    if source == num_bins:
        return prob
    position = torch.arange(source, device=prob.device, dtype=prob.dtype) * (num_bins / source)
    low = position.floor().clamp(max=num_bins - 1)
    frac = (position - low).clamp(0, 1)
    high = (low + 1).clamp(max=num_bins - 1)
    out = prob.new_zeros(prob.shape[:-1] + (num_bins,))
    out.index_add_(-1, low.long(), prob * (1 - frac))
    out.index_add_(-1, high.long(), prob * frac)
    return out


def distribution_kl(student_logits: Mapping[str, Tensor], teacher_probs: Mapping[str, Tensor]) -> Tensor:
    """KL(teacher || student) per side, batch-mean, averaged over the four sides (docs/training.md)."""
    total = 0.0
    for side in SIDES:
        logits = student_logits[side].float()
        target = resample_bins(teacher_probs[side].float(), logits.shape[-1])
        total = total + F.kl_div(F.log_softmax(logits, dim=-1), target, reduction="batchmean")
    return total / len(SIDES)


def feature_mimic(student_feats: Sequence[Tensor], teacher_feats: Sequence[Tensor],
                  pairs: Sequence[tuple[int, int]]) -> Tensor:
    """Mean squared error between matched block outputs ``(student_block, teacher_block)``.

    Only the leading tokens both sequences hold are compared: a MixViT teacher's ``[T, OT, S]`` against a
    MixFormerV2 student's ``[T, OT, S, E]`` leaves out the prediction tokens the teacher has not got.
    """
    if not pairs:
        raise ValueError("feature mimicking needs at least one (student, teacher) block pair")
    tokens = min(min(student_feats[s].shape[1] for s, _ in pairs), min(teacher_feats[t].shape[1] for _, t in pairs))
    student = torch.stack([student_feats[s][:, :tokens] for s, _ in pairs]).float()
    teacher = torch.stack([teacher_feats[t][:, :tokens] for _, t in pairs]).float()
    return F.mse_loss(student, teacher)


def box_cell_coverage(box_xywh: Tensor, grid: int) -> Tensor:
    """Fraction of each cell of a ``grid x grid`` search map covered by a normalised box: ``(B, grid*grid)``.

    Cells are row-major like the search tokens; parts of the box outside the crop cover nothing.
    """
    edges = torch.arange(grid + 1, device=box_xywh.device, dtype=torch.float32) / grid
    x0, y0, w, h = box_xywh.reshape(-1, 4).float().unbind(-1)

    def overlap(start: Tensor, length: Tensor) -> Tensor:
        low = torch.max(edges[:-1], start[:, None])
        high = torch.min(edges[1:], (start + length)[:, None])
        return (high - low).clamp(min=0) * grid

    return (overlap(y0, h)[:, :, None] * overlap(x0, w)[:, None, :]).flatten(1)


def box_edge_cells(box_xywh: Tensor, grid: int) -> Tensor:
    """Cells ``(B, 4, grid*grid)`` (1 or 0) that a one-cell-wide band along each box side touches (l, r, t, b).

    The band runs along the side's whole length and is centred on it; a side outside the crop touches nothing.
    """
    x0, y0, w, h = box_xywh.reshape(-1, 4).float().unbind(-1)
    band = torch.full_like(x0, 1.0 / grid)
    bands = [(x0 - band / 2, y0, band, h), (x0 + w - band / 2, y0, band, h),
             (x0, y0 - band / 2, w, band), (x0, y0 + h - band / 2, w, band)]
    covered = [box_cell_coverage(torch.stack(b, dim=-1), grid) for b in bands]
    return (torch.stack(covered, dim=1) > 0).float()


def target_attention(search_probs: Tensor, cells: Tensor) -> Tensor:
    """Mean of ``-log`` of the attention mass the prediction tokens put on their target cells.

    ``search_probs`` ``(B, heads, tokens, cells)`` are the tokens' attention probabilities restricted to the
    search cells (heads averaged: a head may still read the templates); ``cells`` weighs each cell, the same
    for every token ``(B, cells)`` or per token ``(B, tokens, cells)``. A token whose target cells all lie
    outside the crop carries no term. See docs/training.md ("target attention").
    """
    weights = cells[:, None, :] if cells.dim() == 2 else cells
    mass = (search_probs.float().mean(dim=1) * weights).sum(dim=-1)
    present = (weights.sum(dim=-1) > 0).expand_as(mass)
    if not bool(present.any()):
        return mass.new_zeros(())
    return -torch.log(mass[present].clamp(min=1e-6)).mean()


# What the prediction tokens may be taught to look at (train.target_attention): every token at the whole box,
# or each token at a band along its own side.
TARGET_CELLS = {"box": box_cell_coverage, "edges": box_edge_cells}
