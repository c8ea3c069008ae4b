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


def make_otb_quirks(root: Path) -> None:
    """OTB-100 folders with the distributed quirks: image folders longer than their annotation, numbering that
    starts late, an empty first-target file, two-target folders, five-digit names, Tiger1's init-omit."""
    touch_frames(root / "Basketball" / "img", 725, "%04d.jpg")
    write_boxes(root / "Basketball" / "groundtruth_rect.txt", boxes(725), sep="\t")
    touch_frames(root / "David" / "img", 770, "%04d.jpg")
    write_boxes(root / "David" / "groundtruth_rect.txt", boxes(471), sep=" ")
    touch_frames(root / "Diving" / "img", 231, "%04d.jpg")
    write_boxes(root / "Diving" / "groundtruth_rect.txt", boxes(215))
    touch_frames(root / "BlurCar1" / "img", 742, "%04d.jpg", start=247)
    write_boxes(root / "BlurCar1" / "groundtruth_rect.txt", boxes(742))
    touch_frames(root / "Board" / "img", 698, "%05d.jpg")
    write_boxes(root / "Board" / "groundtruth_rect.txt", boxes(698))
    touch_frames(root / "Tiger1" / "img", 354, "%04d.jpg")
    write_boxes(root / "Tiger1" / "groundtruth_rect.txt", boxes(354))
    touch_frames(root / "Human4" / "img", 667, "%04d.jpg")
    (root / "Human4" / "groundtruth_rect.1.txt").write_text("")
    write_boxes(root / "Human4" / "groundtruth_rect.2.txt", boxes(667, 3.0))
    for folder, n in (("Jogging", 307), ("Skating2", 473)):
        touch_frames(root / folder / "img", n, "%04d.jpg")
        write_boxes(root / folder / "groundtruth_rect.1.txt", boxes(n))
        write_boxes(root / folder / "groundtruth_rect.2.txt", boxes(n, 5.0))


def test_otb_loads_as_distributed_frame_for_frame(tmp_path):
    make_otb_quirks(tmp_path)
    (tmp_path / "att").mkdir()
    (tmp_path / "att" / "Jogging-2.txt").write_text("OCC DEF")  # an attribute file under the older name
    seqs = {s.name: s for s in load_dataset("otb", tmp_path)}
    assert sorted(seqs) == ["Basketball", "BlurCar1", "Board", "David", "Diving", "Human4_2", "Jogging_1",
                            "Jogging_2", "Skating2_1", "Skating2_2", "Tiger1"]
    # (first file, last file, count) of the official definitions
    expected = {"Basketball": ("0001", "0725", 725), "David": ("0300", "0770", 471), "Diving": ("0001", "0215", 215),
                "BlurCar1": ("0247", "0988", 742), "Board": ("00001", "00698", 698), "Tiger1": ("0006", "0354", 349),
                "Human4_2": ("0001", "0667", 667), "Jogging_1": ("0001", "0307", 307),
                "Skating2_2": ("0001", "0473", 473)}
    for name, (first, last, count) in expected.items():
        s = seqs[name]
        assert (s.frames[0].stem, s.frames[-1].stem, len(s)) == (first, last, count), name
        assert len(s.ground_truth) == count
        numbers = [int(f.stem) for f in s.frames]
        assert numbers == list(range(numbers[0], numbers[0] + count)), name
    np.testing.assert_allclose(seqs["Tiger1"].ground_truth, boxes(354)[5:])  # init-omit drops 5 rows too
    np.testing.assert_allclose(seqs["Human4_2"].ground_truth, boxes(667, 3.0))
    np.testing.assert_allclose(seqs["Jogging_2"].ground_truth, boxes(307, 5.0))
    assert seqs["Jogging_2"].attributes == ("OCC", "DEF") and seqs["Basketball"].attributes == ()
    assert seqs["Jogging_2"].aliases == ("Jogging-2",)
    # both the official and the older names select
    assert [s.name for s in load_dataset("otb", tmp_path, ["Skating2-1", "Human4_2"])] == ["Skating2_1", "Human4_2"]


def test_otb_errors_name_the_official_range_and_unofficial_folders_need_one(tmp_path):
    make_otb_quirks(tmp_path)
    (tmp_path / "David" / "img" / "0500.jpg").unlink()
    with pytest.raises(DatasetLayoutError, match="David: the official definition uses frames 300-770"):
        load_dataset("otb", tmp_path, ["David"])
    extra = tmp_path / "MyClip"
    touch_frames(extra / "img", 8, "%04d.jpg")
    write_boxes(extra / "groundtruth_rect.txt", boxes(3))
    (tmp_path / "David" / "img" / "0500.jpg").write_bytes(b"")
    with pytest.raises(DatasetLayoutError, match="'MyClip FIRST LAST' to .*frame_ranges.txt"):
        load_dataset("otb", tmp_path)
    (tmp_path / "frame_ranges.txt").write_text("MyClip 4 6\nJogging-2 1 307 2\n")
    assert [f.name for f in load_dataset("otb", tmp_path, ["MyClip"])[0].frames] == ["0004.jpg", "0005.jpg", "0006.jpg"]
    jog = load_dataset("otb", tmp_path, ["Jogging_2"])[0]  # an override under the older name, with init-omit
    assert (jog.frames[0].stem, len(jog), len(jog.ground_truth)) == ("0003", 305, 305)
    (tmp_path / "frame_ranges.txt").write_text("MyClip 4\n")
    with pytest.raises(DatasetLayoutError, match="frame_ranges.txt:1"):
        load_dataset("otb", tmp_path)


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
    assert sorted(seqs) == ["uav_bike1", "uav_bird1_2"]  # the official toolkit's names
    assert [f.name for f in seqs["uav_bird1_2"].frames] == ["000006.jpg", "000007.jpg", "000008.jpg"]
    assert np.isnan(seqs["uav_bike1"].ground_truth[2]).all() and seqs["uav_bike1"].protocol == "uav"
    assert seqs["uav_bike1"].attributes == ("SV", "SOB")
    assert [s.name for s in load_dataset("uav123", tmp_path, ["bike1"])] == ["uav_bike1"]  # the old name selects
    # the configSeqs.m variant that builds the path with fullfile(dataset_path, 'bird1\\')
    (tmp_path / "configSeqs.m").write_text(
        "seqs={struct('name','bird1_2','path',fullfile(dataset_path,'bird1\\'),'startFrame',7,\n"
        "'endFrame',9,'nz',6,'ext','jpg','init_rect',[0,0,0,0])};\n"
    )
    bird = load_dataset("uav123", tmp_path, ["uav_bird1_2"])[0]
    assert [f.name for f in bird.frames] == ["000007.jpg", "000008.jpg", "000009.jpg"]


# ---------------------------------------------------------------------------------------------- TNL2K, NfS


def test_tnl2k_reader(tmp_path):
    seq = tmp_path / "Arrow_Video_ZZ04_done"
    touch_frames(seq / "imgs", 3, "%05d.png")
    write_boxes(seq / "groundtruth.txt", boxes(3))
    (seq / "language.txt").write_text("the arrow on the left\n")
    (s,) = load_dataset("tnl2k", tmp_path)
    assert s.language == "the arrow on the left" and len(s) == 3 and s.protocol == "ope"
    unpadded = tmp_path / "Zebra_1"
    touch_frames(unpadded / "imgs", 11, "%d.jpg")
    write_boxes(unpadded / "groundtruth.txt", boxes(11))
    z = load_dataset("tnl2k", tmp_path, ["Zebra_1"])[0]
    # the official loader's lexicographic order
    assert [f.stem for f in z.frames] == ["1", "10", "11", "2", "3", "4", "5", "6", "7", "8", "9"]
    (seq / "groundtruth.txt").unlink()
    with pytest.raises(DatasetLayoutError, match="groundtruth.txt"):
        load_dataset("tnl2k", tmp_path)


def test_nfs_reader_subsamples_240fps_annotation(tmp_path):
    seq = tmp_path / "Gymnastics" / "30"
    touch_frames(seq / "Gymnastics", 3, "%05d.jpg")
    rows = [f'1 {10 + i} 20 {40 + i} 60 {i} 0 {int(i == 16)} 0 "person"' for i in range(24)]
    (seq / "Gymnastics.txt").write_text("\n".join(rows) + "\n")
    (s,) = load_dataset("nfs", tmp_path)
    assert s.name == "nfs_Gymnastics" and s.aliases == ("Gymnastics",)
    np.testing.assert_allclose(s.ground_truth, [[10, 20, 30, 40], [18, 20, 30, 40], [26, 20, 30, 40]])
    assert s.extra["occluded"].tolist() == [False, False, True] and s.fps == 30.0
    (seq / "Gymnastics.txt").unlink()
    with pytest.raises(DatasetLayoutError, match=r"30[/\\]Gymnastics\.txt"):
        load_dataset("nfs", tmp_path)


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("vot2099", ".")
