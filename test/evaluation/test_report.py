"""Scoring result directories (ours and other trackers' raw files), tables, plots, attributes, submissions."""
import json
import zipfile

import numpy as np
import pytest

from mixformerv2_core.evaluation import metrics as M
from mixformerv2_core.evaluation import report, results
from mixformerv2_core.evaluation.datasets import load_dataset

from .test_datasets import make_got10k, make_lasot, make_otb_quirks


def noisy(gt, seed, scale):
    rng = np.random.default_rng(seed)
    out = gt + rng.normal(0, scale, gt.shape)
    out[:, 2:] = np.abs(out[:, 2:]) + 1
    return out


@pytest.fixture
def lasot(tmp_path):
    make_lasot(tmp_path / "lasot", n=30)
    (tmp_path / "lasot" / "att").mkdir()
    (tmp_path / "lasot" / "att" / "bear-4.txt").write_text("1,0,0,0,0,0,0,0,0,0,0,0,0,0")
    (tmp_path / "lasot" / "att" / "airplane-1.txt").write_text("IV FM")
    return load_dataset("lasot", tmp_path / "lasot")


def test_report_of_several_result_sets(tmp_path, lasot):
    ours, other = tmp_path / "ours", tmp_path / "other"
    preds = {"ours": {}, "other": {}}
    for k, s in enumerate(lasot):
        preds["ours"][s.name] = noisy(s.ground_truth, k, 2.0)
        preds["other"][s.name] = noisy(s.ground_truth, 100 + k, 12.0)
        results.save_result(ours, s.name, results.TrackOutput(preds["ours"][s.name], np.full(30, 0.01), np.ones(30)))
        # another tracker's raw results: tab-separated, in a per-sequence folder (got10k-toolkit style)
        (other / s.name).mkdir(parents=True)
        np.savetxt(other / s.name / f"{s.name}_001.txt", preds["other"][s.name], delimiter="\t", fmt="%.3f")
    scores = [report.score_results(lasot, ours, "ours"), report.score_results(lasot, other, "other")]
    direct = M.ope_result(M.sequence_errors(preds["ours"][s.name], s.ground_truth, "lasot", s.visible, s.name)
                          for s in lasot)
    assert scores[0].ope.auc == pytest.approx(direct.auc, abs=1e-3)
    assert scores[0].ope.auc > scores[1].ope.auc  # less noise scores higher

    path = report.write_report(lasot, scores, tmp_path / "report", "LaSOT")
    text = path.read_text()
    assert "| ours |" in text and "| other |" in text and "IV (2)" in text and "FM (1)" in text
    for png in ("success.png", "precision.png", "norm_precision.png", "attributes/IV_success.png"):
        data = (tmp_path / "report" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    saved = json.loads((tmp_path / "report" / "scores.json").read_text())
    assert saved["ours"]["overall"]["AUC"] == pytest.approx(scores[0].ope.auc)
    iv = report.attribute_scores(lasot, scores[0])["IV"]
    only_iv = M.ope_result(scores[0].errors[n] for n in ("airplane-1", "bear-4"))
    assert iv.auc == pytest.approx(only_iv.auc)


def test_missing_results_and_test_sets_are_refused(tmp_path, lasot):
    with pytest.raises(ValueError, match="no results for 3 sequences"):
        report.score_results(lasot, tmp_path / "empty")
    for s in lasot:  # a result that is one frame short is an error on LaSOT, named by sequence
        results.save_result(tmp_path / "short", s.name, results.TrackOutput(s.ground_truth[:-1], np.ones(29), np.ones(29)))
    with pytest.raises(ValueError, match="sequence airplane-1: prediction has 29 frames"):
        report.score_results(lasot, tmp_path / "short")
    make_got10k(tmp_path / "got", "test", names=("GOT-10k_Test_000001",))
    with pytest.raises(ValueError, match="servers"):
        report.score_results(load_dataset("got10k_test", tmp_path / "got"), tmp_path)


def test_got10k_val_scores_match_the_toolkit_report(tmp_path):
    experiments = pytest.importorskip("got10k.experiments")
    names = ("GOT-10k_Val_000001", "GOT-10k_Val_000002", "GOT-10k_Val_000003")
    make_got10k(tmp_path / "data", "val", names=names, n=25)
    seqs = load_dataset("got10k_val", tmp_path / "data")
    out = tmp_path / "ours"
    for k, s in enumerate(seqs):
        results.save_result(out, s.name, results.TrackOutput(noisy(s.ground_truth, k, 6.0), np.full(25, 0.02), np.ones(25)))
    zip_path = results.write_got10k_submission(out, [s.name for s in seqs])
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist())[:2] == [f"{names[0]}/{names[0]}_001.txt", f"{names[0]}/{names[0]}_time.txt"]
        zf.extractall(tmp_path / "toolkit_results" / "GOT-10k" / "ours")
    exp = experiments.ExperimentGOT10k(str(tmp_path / "data"), subset="val",
                                       result_dir=str(tmp_path / "toolkit_results"),
                                       report_dir=str(tmp_path / "toolkit_reports"))
    perf = exp.report(["ours"])["ours"]["overall"]
    ours = report.score_results(seqs, out, "ours").got10k
    assert ours.ao == pytest.approx(100 * perf["ao"], abs=1e-6)
    assert ours.sr50 == pytest.approx(100 * perf["sr"], abs=1e-6)
    np.testing.assert_allclose(ours.success, perf["succ_curve"], atol=1e-9)


def test_trackingnet_submission_layout(tmp_path):
    out = tmp_path / "res"
    for name in ("a_1", "b_2"):
        results.save_result(out, name, results.TrackOutput(np.array([[1, 2, 3, 4.5]]), np.array([0.1]), np.ones(1)))
    with zipfile.ZipFile(results.write_trackingnet_submission(out, ["a_1", "b_2"])) as zf:
        assert sorted(zf.namelist()) == ["a_1.txt", "b_2.txt"]
        assert zf.read("a_1.txt").decode() == "1.00,2.00,3.00,4.50\n"


def test_official_raw_results_and_older_names_load(tmp_path):
    """Another tracker's raw results in the official naming (pytracking: tab-separated integers, ``Jogging_1``)
    and results written under the project's older names (``Jogging-1``) score the same boxes identically."""
    make_otb_quirks(tmp_path / "otb")
    seqs = load_dataset("otb", tmp_path / "otb", ["Jogging_1", "Jogging_2", "Human4_2", "Tiger1"])
    official, older = tmp_path / "official", tmp_path / "older"
    official.mkdir()
    older.mkdir()
    for k, s in enumerate(seqs):
        boxes = np.trunc(noisy(s.ground_truth, k, 3.0))
        np.savetxt(official / f"{s.name}.txt", boxes, delimiter="\t", fmt="%d")
        np.savetxt(older / f"{(s.aliases or (s.name,))[0]}.txt", boxes, delimiter=",", fmt="%d")
    assert (older / "Jogging-1.txt").exists() and not (official / "Jogging-1.txt").exists()
    a, b = report.score_results(seqs, official, "official"), report.score_results(seqs, older, "older")
    assert a.ope.per_sequence.keys() == {"Jogging_1", "Jogging_2", "Human4_2", "Tiger1"}
    assert a.summary() == b.summary() and 0 < a.ope.auc < 100
    from mixformerv2_core.cli import report as report_cli

    assert report_cli.main(["--dataset", "otb", "--root", str(tmp_path / "otb"), "--sequences", "Jogging_1",
                            "Jogging_2", "Human4_2", "Tiger1", "--out", str(tmp_path / "r"),
                            "--results", f"official={official}", f"older={older}"]) == 0
    table = (tmp_path / "r" / "report.md").read_text()
    assert "| official |" in table and "| older |" in table


def test_got10k_repetitions_are_pooled_like_the_toolkit(tmp_path):
    experiments = pytest.importorskip("got10k.experiments")
    names = ("GOT-10k_Val_000001", "GOT-10k_Val_000002")
    make_got10k(tmp_path / "data", "val", names=names, n=20)
    seqs = load_dataset("got10k_val", tmp_path / "data")
    res = tmp_path / "toolkit_results" / "GOT-10k" / "ours"
    for k, s in enumerate(seqs):
        (res / s.name).mkdir(parents=True)
        for rep in (1, 2, 3):  # three runs of differing quality
            boxes = noisy(s.ground_truth, 10 * k + rep, 4.0 * rep)
            np.savetxt(res / s.name / f"{s.name}_{rep:03d}.txt", boxes, delimiter=",", fmt="%.4f")
        np.savetxt(res / s.name / f"{s.name}_time.txt", np.full((20, 3), 0.01), delimiter=",")
    exp = experiments.ExperimentGOT10k(str(tmp_path / "data"), subset="val",
                                       result_dir=str(tmp_path / "toolkit_results"),
                                       report_dir=str(tmp_path / "toolkit_reports"))
    perf = exp.report(["ours"])["ours"]["overall"]
    ours = report.score_results(seqs, res, "ours").got10k
    assert ours.ao == pytest.approx(100 * perf["ao"], abs=1e-6)
    assert ours.sr50 == pytest.approx(100 * perf["sr"], abs=1e-6)
    first_only = report.score_boxes(seqs, {s.name: np.loadtxt(res / s.name / f"{s.name}_001.txt", delimiter=",")
                                           for s in seqs}).got10k
    assert first_only.ao != pytest.approx(ours.ao)  # the pooled number is not the first run's


def test_nan_and_negative_predictions_are_errors_in_every_protocol(tmp_path, lasot):
    make_got10k(tmp_path / "got", "val", names=("GOT-10k_Val_000001",), n=6)
    got = load_dataset("got10k_val", tmp_path / "got")
    for bad, match in ((np.nan, "NaN"), (-3.0, "negative")):
        for seqs in (got, lasot):
            s = seqs[0]
            pred = s.ground_truth.copy()
            pred[2, 2] = bad
            with pytest.raises(ValueError, match=f"sequence {s.name}: prediction contains {match}"):
                report.score_boxes(seqs, {q.name: (pred if q is s else q.ground_truth) for q in seqs}, "x")


def test_figures_in_pdf_and_svg_with_distinct_styles_and_a_legend_off_the_curves(tmp_path, lasot):
    import matplotlib.pyplot as plt

    scores = []
    for k in range(12):  # more trackers than colours
        preds = {s.name: noisy(s.ground_truth, 50 + k, 1.0 + 3 * k) for s in lasot}
        scores.append(report.score_boxes(lasot, preds, f"tracker{k:02d}"))
    report.write_report(lasot, scores, tmp_path / "r", "LaSOT")
    for stem in ("success", "precision", "norm_precision"):
        assert (tmp_path / "r" / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
        assert b"<svg" in (tmp_path / "r" / f"{stem}.svg").read_bytes()[:2000]
    styles = report.line_styles(12)
    assert len(set(styles)) == 12 and styles[10] == (styles[0][0], "--")
    curves = {s.name: (M.IOU_THRESHOLDS, s.ope.success, s.ope.auc) for s in scores}
    fig = report._figure(curves, "x", "y", "t", "{name}")
    ax = fig.axes[0]
    fig.canvas.draw()
    drawn = {(line.get_color(), line.get_linestyle()) for line in ax.get_lines()}
    assert len(drawn) == 12  # no two curves look alike
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1  # outside the axes: it covers no curve, weak ones included
    plt.close(fig)
