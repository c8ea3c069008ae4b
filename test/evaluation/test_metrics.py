"""Metric values on hand-computed cases, absent-target rules per benchmark, and the got10k toolkit."""
import numpy as np
import pytest

from mixformerv2_core.evaluation import metrics as M

GT = np.array([[10, 10, 20, 20]] * 4, dtype=float)
PRED = np.array([
    [0, 0, 5, 5],        # frame 0: replaced by the ground truth -> IoU 1
    [10, 10, 20, 20],    # exact -> IoU 1
    [20, 10, 20, 20],    # half shifted: inter 200, union 600 -> 1/3, centre error 10 px
    [100, 100, 20, 20],  # far away -> IoU 0, centre error 90*sqrt(2)
], dtype=float)


def test_iou_hand_computed():
    ious = M.iou(np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 0]], float),
                 np.array([[5, 5, 10, 10], [0, 0, 10, 10], [20, 0, 5, 5], [0, 0, 0, 0]], float))
    np.testing.assert_allclose(ious, [25 / 175, 1.0, 0.0, 0.0])


def test_centres_use_inclusive_pixels():
    np.testing.assert_allclose(M.box_centers(np.array([[10, 20, 5, 8]], float)), [[12.0, 23.5]])


def test_ope_hand_computed_sequence():
    errs = M.sequence_errors(PRED, GT, "ope", name="s")
    np.testing.assert_allclose(errs.ious, [1, 1, 1 / 3, 0])
    np.testing.assert_allclose(errs.center_errors, [0, 0, 10, 90 * np.sqrt(2)])
    np.testing.assert_allclose(errs.norm_center_errors, [0, 0, 0.5, 4.5 * np.sqrt(2)])
    res = M.ope_result([errs])
    # IoU > t: thresholds 0..0.30 (7 values) -> 3/4 frames, 0.35..0.95 (13) -> 2/4, 1.0 -> 0.
    assert res.auc == pytest.approx(100 * (7 * 0.75 + 13 * 0.5) / 21)
    assert res.precision == pytest.approx(75.0)
    assert res.norm_precision == pytest.approx(50.0)
    assert res.op50 == pytest.approx(50.0)
    assert res.op75 == pytest.approx(50.0)
    assert res.success[0] == pytest.approx(0.75) and res.success[-1] == 0.0


def test_success_is_strict_and_precision_inclusive():
    assert M.success_curve(np.array([0.5]))[10] == 0.0  # IoU 0.5 is not > 0.5
    assert M.precision_curve(np.array([20.0]), M.CENTER_THRESHOLDS)[20] == 1.0  # 20 px is <= 20


def test_sequences_weigh_equally():
    long_good = M.SequenceErrors("a", np.ones(100), np.zeros(100), np.zeros(100))
    short_bad = M.SequenceErrors("b", np.zeros(2), np.full(2, 99.0), np.full(2, 9.0))
    res = M.ope_result([long_good, short_bad])
    assert res.precision == pytest.approx(50.0)
    assert res.auc == pytest.approx(100 * (20 / 21 + 0) / 2)


@pytest.fixture
def absent_case():
    gt = GT.copy()
    gt[2] = np.nan  # NaN ground-truth row (UAV123 style)
    pred = GT.copy()
    return pred, gt


def test_absent_frames_default_protocol(absent_case):
    errs = M.sequence_errors(*absent_case, "ope")
    assert errs.ious[2] == -1.0  # a miss at every threshold, including 0
    assert np.isinf(errs.center_errors[2])  # a miss for precision
    assert errs.norm_center_errors[2] == -1.0  # a hit for normalized precision
    res = M.ope_result([errs])
    assert res.success[0] == pytest.approx(0.75)  # the absent frame stays in the denominator
    assert res.precision == pytest.approx(75.0)
    assert res.norm_precision == pytest.approx(100.0)


def test_absent_frames_uav_protocol(absent_case):
    res = M.ope_result([M.sequence_errors(*absent_case, "uav")])
    assert res.precision == pytest.approx(100.0)
    assert res.norm_precision == pytest.approx(100.0)
    assert res.auc == pytest.approx(100 * (20 * 0.75) / 21)


def test_lasot_invisible_frames_are_misses_for_everything():
    visible = np.array([True, True, False, True])
    errs = M.sequence_errors(GT.copy(), GT, "lasot", visible=visible)
    res = M.ope_result([errs])
    assert errs.ious[2] == -1 and np.isinf(errs.center_errors[2]) and np.isinf(errs.norm_center_errors[2])
    assert res.precision == pytest.approx(75.0) and res.norm_precision == pytest.approx(75.0)
    # The same flags are ignored by the default protocol, where only the ground truth decides.
    assert M.ope_result([M.sequence_errors(GT.copy(), GT, "ope", visible=visible)]).precision == 100.0


def test_zero_width_degenerate_gt_is_invalid():
    gt = GT.copy()
    gt[1, 2] = 0
    errs = M.sequence_errors(GT.copy(), gt, "ope")
    assert errs.ious[1] == -1.0


def test_prediction_preparation_rules():
    pred = np.array([[0, 0, 1, 1], [5, 5, 10, 10], [7, 7, 0, 10]], float)
    gt = np.array([[1, 1, 10, 10]] * 4, float)
    out = M.prepare_prediction(pred, gt, M.get_protocol("ope"))
    np.testing.assert_array_equal(out[0], gt[0])  # frame 0 is the init box
    np.testing.assert_array_equal(out[2], out[1])  # zero width repeats the previous box
    np.testing.assert_array_equal(out[3], [0, 0, 0, 0])  # missing row padded
    with pytest.raises(ValueError, match="frames"):
        M.prepare_prediction(pred, gt, M.get_protocol("lasot"))  # LaSOT: a short result is an error
    with pytest.raises(ValueError, match="NaN"):
        M.prepare_prediction(np.full((4, 4), np.nan), gt, M.get_protocol("ope"))
    assert len(M.prepare_prediction(np.ones((6, 4)), gt, M.get_protocol("lasot"))) == 4


def test_got10k_rules_hand_computed():
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    pred = np.array([[50, 50, 1, 1], [0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 10, 10]], float)
    visible = np.array([True, True, True, False])
    ious = M.got10k_sequence_ious(pred, gt, visible, image_size=(12, 12))
    # frame 0 skipped; frame 3 absent; frame 2 clipped to the 12 px image: [5, 12) x [0, 10): 50 / (70 + 100 - 50)
    np.testing.assert_allclose(ious, [1.0, 50 / 120])
    res = M.got10k_result({"a": ious})
    assert res.ao == pytest.approx(100 * (1 + 5 / 12) / 2) and res.sr50 == pytest.approx(50.0) and res.sr75 == pytest.approx(50.0)


def test_got10k_matches_toolkit_on_random_boxes():
    got10k_metrics = pytest.importorskip("got10k.utils.metrics")
    experiments = pytest.importorskip("got10k.experiments.got10k")
    rng = np.random.default_rng(0)
    per_seq, tool_ious = {}, []
    for k in range(5):
        n = 40 + 7 * k
        gt = np.column_stack([rng.uniform(0, 300, (n, 2)), rng.uniform(5, 120, (n, 2))])
        pred = gt + rng.normal(0, 15, gt.shape)
        pred[:, 2:] = np.abs(pred[:, 2:])
        visible = rng.random(n) > 0.1
        bound = (320, 240)
        per_seq[f"s{k}"] = M.got10k_sequence_ious(pred, gt, visible, bound)
        t = got10k_metrics.rect_iou(pred[1:].copy(), gt[1:].copy(), bound=bound)
        tool_ious.append(t[visible[1:]])
        np.testing.assert_allclose(per_seq[f"s{k}"], tool_ious[-1], atol=1e-9)
    ours = M.got10k_result(per_seq)
    ao, sr, _, curve = experiments.ExperimentGOT10k._evaluate(None, np.concatenate(tool_ious), np.array([]))
    assert ours.ao == pytest.approx(100 * ao)
    assert ours.sr50 == pytest.approx(100 * sr)
    np.testing.assert_allclose(ours.success, curve)


def test_ope_success_and_precision_match_the_toolkits_otb_experiment():
    """On fully valid sequences our OPE curves equal the got10k toolkit's OTB curves (same conventions)."""
    got10k_metrics = pytest.importorskip("got10k.utils.metrics")
    experiments = pytest.importorskip("got10k.experiments.otb")
    toolkit = object.__new__(experiments.ExperimentOTB)
    toolkit.nbins_iou, toolkit.nbins_ce = 21, 51
    rng = np.random.default_rng(1)
    ours, succ, prec = [], [], []
    for k in range(4):
        n = 30 + 5 * k
        gt = np.column_stack([rng.uniform(0, 200, (n, 2)), rng.uniform(8, 80, (n, 2))])
        pred = gt + rng.normal(0, 10, gt.shape)
        pred[:, 2:] = np.abs(pred[:, 2:]) + 1
        pred[0] = gt[0]  # the toolkit records the init box as frame 0 too
        ours.append(M.sequence_errors(pred, gt, "ope", name=str(k)))
        s, p = toolkit._calc_curves(got10k_metrics.rect_iou(pred, gt), got10k_metrics.center_error(pred, gt))
        succ.append(s)
        prec.append(p)
    res = M.ope_result(ours)
    np.testing.assert_allclose(res.success, np.mean(succ, axis=0), atol=1e-12)
    np.testing.assert_allclose(res.precision_curve, np.mean(prec, axis=0), atol=1e-12)
    assert res.auc == pytest.approx(100 * np.mean(succ))


def test_identical_boxes_never_pass_the_threshold_one():
    # for these boxes the unclipped ratio is 1 + 2e-16 (found on random boxes)
    boxes = np.array([[102.36432494005135, 190.09273926518705, 57.60341320220613, 46.274577610748494],
                      [62.36629040209709, 84.66528979451513, 40.96308956684888, 10.360157318997686]])
    assert (M.iou(boxes, boxes) <= 1.0).all()
    assert M.success_curve(M.iou(boxes, boxes))[-1] == 0.0


def test_lasot_zero_box_on_a_visible_frame_is_a_normalized_hit():
    """LaSOT: a 0,0,0,0 box that is not flagged invisible is invalid (IoU miss, P miss) but a P_norm hit."""
    gt = GT.copy()
    gt[2] = 0
    pred = GT.copy()
    pred[2] = [500, 500, 20, 20]  # far off: would be a miss if the frame were scored
    errs = M.sequence_errors(pred, gt, "lasot", visible=np.ones(4, bool))
    assert errs.ious[2] == -1 and np.isinf(errs.center_errors[2]) and errs.norm_center_errors[2] == -1
    res = M.ope_result([errs])
    assert res.precision == pytest.approx(75.0) and res.norm_precision == pytest.approx(100.0)
    # flagged invisible as well: a miss for everything, as before
    flagged = M.sequence_errors(pred, gt, "lasot", visible=np.array([True, True, False, True]))
    assert M.ope_result([flagged]).norm_precision == pytest.approx(75.0)


def test_ground_truth_with_a_zero_coordinate_is_invalid():
    """pytracking's validity rule: all four values positive (x = 0 makes the frame invalid)."""
    gt = GT.copy()
    gt[1, 0] = 0
    errs = M.sequence_errors(gt.copy(), gt, "ope")
    assert errs.ious[1] == -1 and np.isinf(errs.center_errors[1]) and errs.norm_center_errors[1] == -1


def test_lasot_extension_counts_invisible_frames_as_normalized_hits_and_pads():
    visible = np.array([True, False, True, True])
    pred = GT.copy()
    pred[1] = [300, 300, 20, 20]  # invisible frame, far off
    ext = M.sequence_errors(pred, GT, "lasot_ext", visible=visible)
    assert ext.ious[1] == -1 and np.isinf(ext.center_errors[1]) and ext.norm_center_errors[1] == -1
    lasot = M.sequence_errors(pred, GT, "lasot", visible=visible)
    r_ext, r_lasot = M.ope_result([ext]), M.ope_result([lasot])
    assert r_ext.norm_precision == pytest.approx(100.0) and r_lasot.norm_precision == pytest.approx(75.0)
    assert r_ext.auc == pytest.approx(r_lasot.auc) and r_ext.precision == pytest.approx(r_lasot.precision)
    # a short result is padded with zero boxes (LaSOT test refuses it)
    short = M.sequence_errors(GT[:2], GT, "lasot_ext", visible=np.ones(4, bool))
    assert (short.ious[2:] == 0).all() and np.isfinite(short.center_errors[2:]).all()
    with pytest.raises(ValueError, match="frames"):
        M.sequence_errors(GT[:2], GT, "lasot", visible=np.ones(4, bool))


def test_lasot_extension_reader_uses_its_own_protocol(tmp_path):
    root = tmp_path / "LaSOT_ext"
    seq = root / "atv" / "atv-1"
    (seq / "img").mkdir(parents=True)
    for i in range(1, 4):
        (seq / "img" / f"{i:08d}.jpg").write_bytes(b"")
    (seq / "groundtruth.txt").write_text("1,2,3,4\n1,2,3,4\n0,0,0,0\n")
    (seq / "full_occlusion.txt").write_text("0,0,1")
    (seq / "out_of_view.txt").write_text("0,0,0")
    from mixformerv2_core.evaluation.datasets import load_dataset

    (s,) = load_dataset("lasot_ext", root)
    assert s.protocol == "lasot_ext" and s.visible.tolist() == [True, True, False]


def test_official_unclipped_iou_lets_a_perfect_float_box_pass_threshold_one():
    boxes = np.array([[102.36432494005135, 190.09273926518705, 57.60341320220613, 46.274577610748494],
                      [62.36629040209709, 84.66528979451513, 40.96308956684888, 10.360157318997686]])
    raw = M.iou(boxes, boxes, clip=False)
    assert raw.max() > 1.0  # 1 + ulp for at least one of these
    official = M.sequence_errors(np.vstack([boxes, boxes]), np.vstack([boxes, boxes]), "ope", clip_iou=False)
    ours = M.sequence_errors(np.vstack([boxes, boxes]), np.vstack([boxes, boxes]), "ope")
    assert M.success_curve(official.ious)[-1] > 0 and M.success_curve(ours.ious)[-1] == 0
