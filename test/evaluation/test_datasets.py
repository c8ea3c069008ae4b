"""Each benchmark reader on a small tree written here in that benchmark's distributed layout."""
from pathlib import Path

import numpy as np
import pytest

from mixformerv2_core.evaluation.datasets import DatasetLayoutError, load_dataset


def touch_frames(directory: Path, count: int, pattern: str, start: int = 1) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        (directory / (pattern % i)).write_bytes(b"")


def write_boxes(path: Path, boxes, sep: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(sep.join(str(v) for v in b) for b in boxes) + "\n")


def boxes(n: int, offset: float = 0.0) -> np.ndarray:
    return np.array([[10 + i + offset, 20 + i, 30, 40] for i in range(n)], dtype=float)


# ---------------------------------------------------------------------------------------------- LaSOT


def make_lasot(root: Path, names=("airplane-1", "airplane-13", "bear-4"), n: int = 5) -> None:
    for name in names:
        seq = root / name.rsplit("-", 1)[0] / name
        touch_frames(seq / "img", n, "%08d.jpg")
        write_boxes(seq / "groundtruth.txt", boxes(n))
        (seq / "full_occlusion.txt").write_text(",".join(["0"] * (n - 1) + ["1"]))
        (seq / "out_of_view.txt").write_text(",".join(["0", "1"] + ["0"] * (n - 2)))
        (seq / "nlp.txt").write_text(f"the {name} flying\n")


def test_lasot_reader(tmp_path):
    make_lasot(tmp_path)
    (tmp_path / "att").mkdir()
    (tmp_path / "att" / "bear-4.txt").write_text("1,0,0,0,0,0,0,0,0,1,0,0,0,1")
    seqs = load_dataset("lasot", tmp_path)
    assert [s.name for s in seqs] == ["airplane-1", "airplane-13", "bear-4"]
    s = seqs[2]
    assert len(s) == 5 and s.frames[0].name == "00000001.jpg" and s.protocol == "lasot"
    np.testing.assert_array_equal(s.visible, [True, False, True, True, False])
    np.testing.assert_allclose(s.ground_truth, boxes(5))
    assert s.language == "the bear-4 flying" and s.object_class == "bear"
    assert s.attributes == ("IV", "FOC", "ARC")


def test_lasot_split_file_selects_and_reports_missing(tmp_path):
    make_lasot(tmp_path)
    (tmp_path / "testing_set.txt").write_text("bear-4\nairplane-1\n")
    assert [s.name for s in load_dataset("lasot", tmp_path)] == ["bear-4", "airplane-1"]
    (tmp_path / "testing_set.txt").write_text("bear-4\ncat-2\n")
    with pytest.raises(DatasetLayoutError, match="cat-2"):
        load_dataset("lasot", tmp_path)


def test_lasot_missing_visibility_file_is_named(tmp_path):
    make_lasot(tmp_path)
    (tmp_path / "bear" / "bear-4" / "out_of_view.txt").unlink()
    with pytest.raises(DatasetLayoutError, match=r"bear-4[/\\]out_of_view\.txt"):
        load_dataset("lasot", tmp_path)


def test_lasot_extension_flat_layout(tmp_path):
    make_lasot(tmp_path, names=("atv-1", "wingsuit-10"))
    seqs = load_dataset("lasot_ext", tmp_path, sequences=["wingsuit-10"])
    assert [s.name for s in seqs] == ["wingsuit-10"] and seqs[0].dataset == "lasot_ext"
    with pytest.raises(DatasetLayoutError, match="nope-1"):
        load_dataset("lasot_ext", tmp_path, sequences=["nope-1"])


def test_frame_count_mismatch_is_reported(tmp_path):
    make_lasot(tmp_path, names=("cat-1",))
    (tmp_path / "cat" / "cat-1" / "img" / "00000005.jpg").unlink()
    with pytest.raises(DatasetLayoutError, match="4 frames but 5 ground-truth rows"):
        load_dataset("lasot", tmp_path)


# ---------------------------------------------------------------------------------------------- GOT-10k


def make_got10k(root: Path, split: str, names=("GOT-10k_Val_000001", "GOT-10k_Val_000002"), n: int = 6) -> None:
    split_dir = root / split
    split_dir.mkdir(parents=True)
    (split_dir / "list.txt").write_text("\n".join(names) + "\n")
    for name in names:
        seq = split_dir / name
        touch_frames(seq, n, "%08d.jpg")
        write_boxes(seq / "groundtruth.txt", boxes(n) if split == "val" else boxes(1))
        (seq / "meta_info.ini").write_text("[METAINFO]\nurl: x\nresolution: (1280, 720)\n")
        if split == "val":
            (seq / "absence.label").write_text("\n".join(["0", "0", "1"] + ["0"] * (n - 3)) + "\n")
            (seq / "cover.label").write_text("\n".join(["8", "8", "0"] + ["5"] * (n - 3)) + "\n")
            (seq / "cut_by_image.label").write_text("\n".join(["0"] * n) + "\n")


def test_got10k_val_reader(tmp_path):
    make_got10k(tmp_path, "val")
    seqs = load_dataset("got10k_val", tmp_path)
    assert len(seqs) == 2 and seqs[0].protocol == "got10k" and seqs[0].image_size == (1280, 720)
    np.testing.assert_array_equal(seqs[0].visible, [True, True, False, True, True, True])
    assert seqs[0].fully_annotated
    (tmp_path / "val" / "GOT-10k_Val_000002" / "cover.label").unlink()
    assert load_dataset("got10k_val", tmp_path)[1].visible.tolist() == [True, True, False, True, True, True]
    (tmp_path / "val" / "GOT-10k_Val_000002" / "absence.label").unlink()
    with pytest.raises(DatasetLayoutError, match="absence.label"):
        load_dataset("got10k_val", tmp_path)


def test_got10k_test_reader_and_missing_list(tmp_path):
    make_got10k(tmp_path, "test", names=("GOT-10k_Test_000001",))
    (seq,) = load_dataset("got10k_test", tmp_path / "test")  # the split directory itself also works
    assert seq.protocol == "server" and seq.ground_truth.shape == (1, 4) and len(seq) == 6
    assert not seq.fully_annotated
    (tmp_path / "test" / "list.txt").unlink()
    with pytest.raises(DatasetLayoutError, match=r"test[/\\]list\.txt"):
        load_dataset("got10k_test", tmp_path)


# ---------------------------------------------------------------------------------------------- TrackingNet


def test_trackingnet_reader(tmp_path):
    for name, n in (("abc_1", 12), ("zz_9", 3)):
        touch_frames(tmp_path / "TEST" / "frames" / name, n, "%d.jpg", start=0)
        write_boxes(tmp_path / "TEST" / "anno" / f"{name}.txt", boxes(1))
    seqs = load_dataset("trackingnet", tmp_path)
    assert [s.name for s in seqs] == ["abc_1", "zz_9"]
    # numeric order: 0, 1, 2, ..., 10, 11 (not 0, 1, 10, 11, 2)
    assert [f.name for f in seqs[0].frames][:4] == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]
    assert seqs[0].frames[-1].name == "11.jpg"
    import shutil
    shutil.rmtree(tmp_path / "TEST" / "frames")
    with pytest.raises(DatasetLayoutError, match=r"TEST[/\\]frames"):
        load_dataset("trackingnet", tmp_path)


# ---------------------------------------------------------------------------------------------- OTB


def test_otb_reader_two_targets_ranges_and_attributes(tmp_path):
    touch_frames(tmp_path / "Basketball" / "img", 4, "%04d.jpg")
    write_boxes(tmp_path / "Basketball" / "groundtruth_rect.txt", boxes(4), sep="\t")
    touch_frames(tmp_path / "Jogging" / "img", 3, "%04d.jpg")
    write_boxes(tmp_path / "Jogging" / "groundtruth_rect.1.txt", boxes(3))
    write_boxes(tmp_path / "Jogging" / "groundtruth_rect.2.txt", boxes(3, 5.0))
    touch_frames(tmp_path / "David" / "img", 8, "%04d.jpg")
    write_boxes(tmp_path / "David" / "groundtruth_rect.txt", boxes(3), sep=" ")
    (tmp_path / "att").mkdir()
    (tmp_path / "att" / "Jogging-2.txt").write_text("OCC DEF")
    with pytest.raises(DatasetLayoutError, match="'David FIRST LAST' to .*frame_ranges.txt"):
        load_dataset("otb", tmp_path)
    (tmp_path / "frame_ranges.txt").write_text("David 4 6\n")
    seqs = {s.name: s for s in load_dataset("otb", tmp_path)}
    assert sorted(seqs) == ["Basketball", "David", "Jogging-1", "Jogging-2"]
    assert [f.name for f in seqs["David"].frames] == ["0004.jpg", "0005.jpg", "0006.jpg"]
    np.testing.assert_allclose(seqs["Jogging-2"].ground_truth, boxes(3, 5.0))
    np.testing.assert_allclose(seqs["Basketball"].ground_truth, boxes(4))
    assert seqs["Jogging-2"].attributes == ("OCC", "DEF") and seqs["Basketball"].attributes == ()


# ---------------------------------------------------------------------------------------------- UAV123


def test_uav123_reader_with_sections_and_nan_rows(tmp_path):
    anno = tmp_path / "anno" / "UAV123"
    data = tmp_path / "data_seq" / "UAV123"
    touch_frames(data / "bike1", 4, "%06d.jpg")
    gt = boxes(4)
    gt[2] = np.nan
    write_boxes(anno / "bike1.txt", gt)
    write_boxes(anno / "att" / "bike1.txt", [[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]])
    touch_frames(data / "bird1", 10, "%06d.jpg")
    write_boxes(anno / "bird1_2.txt", boxes(3))
    with pytest.raises(DatasetLayoutError, match="configSeqs.m"):
        load_dataset("uav123", tmp_path)
    (tmp_path / "configSeqs.m").write_text(
        "seqs={struct('name','bird1_2','path','D:\\UAV123\\data_seq\\UAV123\\bird1\\','startFrame',6,"
        "'endFrame',8,'nz',6,'ext','jpg','init_rect',[0,0,0,0])};\n"
    )
    seqs = {s.name: s for s in load_dataset("uav123", tmp_path)}
    assert [f.name for f in seqs["bird1_2"].frames] == ["000006.jpg", "000007.jpg", "000008.jpg"]
    assert np.isnan(seqs["bike1"].ground_truth[2]).all() and seqs["bike1"].protocol == "uav"
    assert seqs["bike1"].attributes == ("SV", "SOB")


# ---------------------------------------------------------------------------------------------- TNL2K, NfS


def test_tnl2k_reader(tmp_path):
    seq = tmp_path / "Arrow_Video_ZZ04_done"
    touch_frames(seq / "imgs", 3, "%05d.png")
    write_boxes(seq / "groundtruth.txt", boxes(3))
    (seq / "language.txt").write_text("the arrow on the left\n")
    (s,) = load_dataset("tnl2k", tmp_path)
    assert s.language == "the arrow on the left" and len(s) == 3 and s.protocol == "ope"
    (seq / "groundtruth.txt").unlink()
    with pytest.raises(DatasetLayoutError, match="groundtruth.txt"):
        load_dataset("tnl2k", tmp_path)


def test_nfs_reader_subsamples_240fps_annotation(tmp_path):
    seq = tmp_path / "Gymnastics" / "30"
    touch_frames(seq / "Gymnastics", 3, "%05d.jpg")
    rows = [f'1 {10 + i} 20 {40 + i} 60 {i} 0 {int(i == 16)} 0 "person"' for i in range(24)]
    (seq / "Gymnastics.txt").write_text("\n".join(rows) + "\n")
    (s,) = load_dataset("nfs", tmp_path)
    np.testing.assert_allclose(s.ground_truth, [[10, 20, 30, 40], [18, 20, 30, 40], [26, 20, 30, 40]])
    assert s.extra["occluded"].tolist() == [False, False, True] and s.fps == 30.0
    (seq / "Gymnastics.txt").unlink()
    with pytest.raises(DatasetLayoutError, match=r"30[/\\]Gymnastics\.txt"):
        load_dataset("nfs", tmp_path)


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("vot2099", ".")
