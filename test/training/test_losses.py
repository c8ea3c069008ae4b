"""Losses on hand-computed cases: marginalisation, KL, GIoU/CIoU, bin resampling, feature mimicking."""
import math

import pytest
import torch
import torch.nn.functional as F

from mixformerv2_training import losses


def test_marginalize_known_heatmap():
    side = 4
    tl = torch.zeros(1, side, side)
    tl[0, 1, 2] = 0.75  # row (y) 1, column (x) 2
    tl[0, 3, 0] = 0.25
    br = torch.zeros(1, side, side)
    br[0, 2, 3] = 1.0
    out = losses.marginalize_corners(tl.flatten(1), br.flatten(1))
    assert out["l"].tolist() == [[0.25, 0.0, 0.75, 0.0]]  # columns of the top-left map
    assert out["t"].tolist() == [[0.0, 0.75, 0.0, 0.25]]  # rows of the top-left map
    assert out["r"].tolist() == [[0.0, 0.0, 0.0, 1.0]]
    assert out["b"].tolist() == [[0.0, 0.0, 1.0, 0.0]]


def test_marginalize_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        losses.marginalize_corners(torch.ones(1, 10), torch.ones(1, 10))


def test_kl_matches_hand_computation():
    teacher = torch.tensor([[0.5, 0.25, 0.25]])
    logits = torch.log(torch.tensor([[0.25, 0.25, 0.5]]))
    expected = 0.5 * math.log(0.5 / 0.25) + 0.25 * math.log(1.0) + 0.25 * math.log(0.25 / 0.5)
    kl = losses.distribution_kl({s: logits for s in losses.SIDES}, {s: teacher for s in losses.SIDES})
    assert kl.item() == pytest.approx(expected, abs=1e-6)
    same = losses.distribution_kl({s: teacher.log() for s in losses.SIDES}, {s: teacher for s in losses.SIDES})
    assert same.item() == pytest.approx(0.0, abs=1e-7)


def test_resample_keeps_mass_and_mean():
    prob = F.softmax(torch.randn(3, 16), dim=-1)
    out = losses.resample_bins(prob, 32)
    assert out.sum(-1) == pytest.approx(torch.ones(3), abs=1e-6)
    mean_in = (prob * torch.arange(16) / 16).sum(-1)
    mean_out = (out * torch.arange(32) / 32).sum(-1)
    assert torch.allclose(mean_in, mean_out, atol=1e-6)
    assert torch.equal(losses.resample_bins(prob, 16), prob)


def test_giou_and_ciou_on_known_boxes():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0]])  # IoU 1/7, enclosing 3x3 = 9, union 7
    g, iou = losses.giou(a, b)
    assert iou.item() == pytest.approx(1 / 7)
    assert g.item() == pytest.approx(1 / 7 - (9 - 7) / 9)
    c, _ = losses.ciou(a, b)  # same aspect ratio: v = 0; rho^2 = 2, c^2 = 18
    assert c.item() == pytest.approx(1 / 7 - 2 / 18)
    same, iou_same = losses.ciou(a, a)
    assert same.item() == pytest.approx(1.0) and iou_same.item() == pytest.approx(1.0)
    far, _ = losses.giou(torch.tensor([[0.0, 0.0, 1.0, 1.0]]), torch.tensor([[2.0, 0.0, 3.0, 1.0]]))
    assert far.item() == pytest.approx(0 - (3 - 2) / 3)


def test_ciou_aspect_term_only_above_half_iou():
    target = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    pred = torch.tensor([[0.0, 0.0, 1.0, 0.8]])  # IoU 0.8, different aspect
    c, iou = losses.ciou(pred, target)
    v = 4 / math.pi**2 * (math.atan(1.0) - math.atan(1 / 0.8)) ** 2
    alpha = v / (1 - 0.8 + v)
    rho = 0.1**2
    assert c.item() == pytest.approx(0.8 - rho / 2.0 - alpha * v, abs=1e-6)


def test_box_losses_clamp_target_and_give_gradients():
    pred = torch.tensor([[[0.5, 0.5, 0.2, 0.2]]], requires_grad=True)
    target = torch.tensor([[0.4, 0.4, 0.2, 0.2]])  # xywh -> xyxy 0.4..0.6 = the prediction
    terms = losses.box_losses(pred, target)
    assert terms["l1"].item() == pytest.approx(0.0, abs=1e-6)
    assert terms["iou_loss"].item() == pytest.approx(0.0, abs=1e-5)
    shifted = losses.box_losses(pred, torch.tensor([[0.9, 0.9, 0.4, 0.4]]))  # clamped to 0.9..1.0
    shifted["iou_loss"].backward()
    assert pred.grad.abs().sum() > 0


def test_feature_mimic_pairs():
    student = [torch.zeros(2, 3, 4), torch.ones(2, 3, 4)]
    teacher = [torch.ones(2, 3, 4) * 3, torch.ones(2, 3, 4)]
    assert losses.feature_mimic(student, teacher, [(1, 1)]).item() == 0.0
    assert losses.feature_mimic(student, teacher, [(0, 0)]).item() == pytest.approx(9.0)
    assert losses.feature_mimic(student, teacher, [(0, 1), (1, 0)]).item() == pytest.approx((1 + 4) / 2)
    with pytest.raises(ValueError):
        losses.feature_mimic(student, teacher, [])
