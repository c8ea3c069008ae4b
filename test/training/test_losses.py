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


def test_feature_mimic_compares_only_the_tokens_both_hold():
    """A MixViT teacher has no prediction tokens: the student's extra trailing tokens are left out."""
    teacher = [torch.ones(2, 3, 4)]
    student = [torch.cat([torch.ones(2, 3, 4), torch.full((2, 2, 4), 7.0)], dim=1)]
    assert losses.feature_mimic(student, teacher, [(0, 0)]).item() == 0.0
    student[0][:, 0] = 3.0
    assert losses.feature_mimic(student, teacher, [(0, 0)]).item() == pytest.approx(4.0 / 3)


def test_box_cell_coverage_counts_the_covered_fraction_of_each_cell():
    grid = 4
    cell = torch.tensor([[0.50, 0.25, 0.25, 0.25]])  # exactly cell row 1, column 2
    coverage = losses.box_cell_coverage(cell, grid)
    assert coverage.shape == (1, 16) and coverage[0, 1 * grid + 2] == pytest.approx(1.0)
    assert coverage.sum().item() == pytest.approx(1.0)
    half = losses.box_cell_coverage(torch.tensor([[0.0, 0.0, 0.125, 0.25]]), grid)
    assert half[0, 0] == pytest.approx(0.5) and half.sum().item() == pytest.approx(0.5)
    spilling = losses.box_cell_coverage(torch.tensor([[0.75, 0.75, 0.5, 0.5]]), grid)  # 3/4 outside the crop
    assert spilling[0, 15] == pytest.approx(1.0) and spilling.sum().item() == pytest.approx(1.0)
    outside = losses.box_cell_coverage(torch.tensor([[1.2, 0.1, 0.2, 0.2]]), grid)
    assert outside.sum().item() == 0.0


def test_target_attention_rewards_mass_on_the_target_cells():
    coverage = losses.box_cell_coverage(torch.tensor([[0.0, 0.0, 0.5, 0.5]]), 2)  # cell 0 of four
    on_target = torch.zeros(1, 2, 4, 4)
    on_target[..., 0] = 1.0
    assert losses.target_attention(on_target, coverage).item() == pytest.approx(0.0, abs=1e-6)
    uniform = torch.full((1, 2, 4, 4), 0.25)
    assert losses.target_attention(uniform, coverage).item() == pytest.approx(math.log(4), abs=1e-5)
    split = torch.stack([on_target[0, 0], uniform[0, 0]])[None]  # heads are averaged: mass 0.625
    assert losses.target_attention(split, coverage).item() == pytest.approx(-math.log(0.625), abs=1e-5)
    absent = torch.zeros(1, 16)  # target outside the crop: no term
    assert losses.target_attention(uniform, absent[:, :4]).item() == 0.0
    both = torch.cat([coverage, absent[:, :4]])
    assert losses.target_attention(uniform.expand(2, -1, -1, -1), both).item() == pytest.approx(math.log(4))


def test_box_edge_cells_mark_a_band_along_each_side():
    grid = 4
    cells = losses.box_edge_cells(torch.tensor([[0.25, 0.25, 0.5, 0.25]]), grid).reshape(4, grid, grid)
    expected = torch.zeros(4, grid, grid)
    expected[0, 1, 0:2] = 1  # left side at x = 0.25: the band spans columns 0 and 1 in row 1
    expected[1, 1, 2:4] = 1  # right side at x = 0.75
    expected[2, 0:2, 1:3] = 1  # top at y = 0.25, columns 1-2 (x 0.25..0.75)
    expected[3, 1:3, 1:3] = 1  # bottom at y = 0.5
    assert torch.equal(cells, expected)
    outside = losses.box_edge_cells(torch.tensor([[-0.6, 0.0, 0.5, 0.5]]), grid)  # left side off the crop
    assert outside[0, 0].sum() == 0 and outside[0, 1].sum() > 0


def test_per_token_cells_give_each_token_its_own_term():
    probs = torch.zeros(1, 1, 2, 4)
    probs[0, 0, 0, 0] = 1.0  # token 0 on cell 0, token 1 on cell 3
    probs[0, 0, 1, 3] = 1.0
    own = torch.tensor([[[1.0, 0, 0, 0], [0, 0, 0, 1.0]]])
    assert losses.target_attention(probs, own).item() == pytest.approx(0.0, abs=1e-6)
    swapped = own.flip(1)
    assert losses.target_attention(probs, swapped).item() == pytest.approx(-math.log(1e-6))
    one_absent = torch.tensor([[[1.0, 0, 0, 0], [0, 0, 0, 0]]])  # token 1's side is off the crop: no term
    assert losses.target_attention(probs, one_absent).item() == pytest.approx(0.0, abs=1e-6)
