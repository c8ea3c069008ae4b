"""Sampling invariants, crops identical to the tracker's, dataset readers' errors."""
import numpy as np
import pytest
import torch

from mixformerv2_core.preprocessing import crop_and_normalize
from mixformerv2_training.data import (ProcessingParams, SequenceInfo, SyntheticTrackingDataset, TrackingProcessing,
                                       TrainingPairDataset, build_loader)
from mixformerv2_training.data.readers import COCO, GOT10k, LaSOT, TrackingNet, DatasetError
from mixformerv2_training.data.sampler import sample_causal, sample_trident

NO_AUGMENT = dict(grayscale_prob=0.0, joint_flip_prob=0.0, crop_flip_prob=0.0, brightness_jitter=0.0)


def test_causal_frames_lie_within_the_gap_and_are_visible():
    rng = np.random.default_rng(0)
    visible = rng.random(300) > 0.3
    for _ in range(300):
        (later, earlier), search = sample_causal(visible, 20, rng)
        assert visible[later] and visible[earlier] and visible[search]
        assert earlier < later < search
        # the window widens by 5 per failed try; with 70 % visible frames it rarely needs to
        assert later - earlier <= 20 + 5 * 3 and search - later <= 20 + 5 * 3


def test_trident_second_template_near_search():
    rng = np.random.default_rng(1)
    visible = np.ones(100, dtype=bool)
    for _ in range(200):
        (first, second), search = sample_trident(visible, 10, rng)
        assert abs(second - search) <= 10
        assert (second < search) == (first <= search) or second == search


def test_causal_gives_up_without_visible_frames():
    assert sample_causal(np.zeros(50, dtype=bool), 20, np.random.default_rng(0)) is None


def _sampler(**kw):
    data = SyntheticTrackingDataset(num_sequences=4, num_frames=40, frame_size=(120, 160))
    params = ProcessingParams(template_size=32, search_size=64, **{**NO_AUGMENT, **kw.pop("params", {})})
    return TrainingPairDataset([data], [1], TrackingProcessing(params), samples_per_epoch=8, max_gap=10, **kw), data


def test_samples_are_deterministic_per_epoch_and_index():
    sampler, _ = _sampler(params=dict(grayscale_prob=0.5, joint_flip_prob=0.5, crop_flip_prob=0.5, brightness_jitter=0.2))
    a, b = sampler[(3, 5)], sampler[(3, 5)]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(sampler[(3, 5)]["search_images"], sampler[(4, 5)]["search_images"])
    assert a["template_images"].shape == (2, 3, 32, 32) and a["search_images"].shape == (3, 64, 64)


def test_unjittered_search_crop_is_the_trackers_crop():
    sampler, data = _sampler(params=dict(search_scale_jitter=0.0, search_center_jitter=0.0))
    sample = sampler[(0, 0)]
    # find the frame the sample used by matching the search crop against the tracker's crop of every frame
    found = False
    for seq in range(len(data)):
        info = data.sequence_info(seq)
        for frame_id in range(len(info.boxes)):
            frame = data.frames(seq, [frame_id])[0]
            crop, _ = crop_and_normalize(frame, info.boxes[frame_id], 5.0, 64)
            if np.array_equal(crop, sample["search_images"].numpy()):
                found = True
    assert found
    x, y, w, h = sample["search_anno"].tolist()  # the target sits in the middle of an unjittered crop
    assert x + w / 2 == pytest.approx(0.5, abs=1 / 64) and y + h / 2 == pytest.approx(0.5, abs=1 / 64)
    assert w * h == pytest.approx(1 / 25, rel=0.1)


def test_score_labels_give_negatives():
    sampler, _ = _sampler(score_labels=True, pos_prob=0.5)
    labels = [sampler[(0, i)]["label"].item() for i in range(16)]
    assert 0.0 in labels and 1.0 in labels


def test_loader_shards_ranks_and_resumes_inside_an_epoch():
    sampler, _ = _sampler()
    _, rank0 = build_loader(sampler, 2, rank=0, world_size=2)
    _, rank1 = build_loader(sampler, 2, rank=1, world_size=2)
    keys0, keys1 = list(rank0), list(rank1)
    assert len(keys0) == len(keys1) == 4 and not set(keys0) & set(keys1)
    rank0.set_position(epoch=2, start_batch=1)
    assert list(rank0) == [(2, i) for _, i in keys0][2:]


def test_sequence_info_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        SequenceInfo(np.zeros((3, 4)), np.ones(2))


def _write_boxes(path, n):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join("10,20,30,40" for _ in range(n)))


def test_lasot_reader_and_missing_files(tmp_path):
    seq = tmp_path / "cat" / "cat-1"
    _write_boxes(seq / "groundtruth.txt", 3)
    (seq / "full_occlusion.txt").write_text("0,1,0")
    (seq / "out_of_view.txt").write_text("0,0,0")
    data = LaSOT(tmp_path)
    assert data.sequence_info(0).visible.tolist() == [True, False, True]
    with pytest.raises(DatasetError, match="00000002.jpg"):
        data.frames(0, [1])
    (seq / "out_of_view.txt").unlink()
    with pytest.raises(DatasetError, match="out_of_view.txt"):
        LaSOT(tmp_path).sequence_info(0)
    with pytest.raises(DatasetError, match="dog-3"):
        (tmp_path / "split.txt").write_text("cat-1\ndog-3\n")
        LaSOT(tmp_path, split_file=tmp_path / "split.txt")


def test_got10k_trackingnet_coco_readers(tmp_path):
    seq = tmp_path / "got" / "train" / "GOT-10k_Train_000001"
    _write_boxes(seq / "groundtruth.txt", 2)
    (seq / "absence.label").write_text("0\n1\n")
    (seq / "cover.label").write_text("3\n0\n")
    image = np.full((50, 60, 3), (255, 0, 0), dtype=np.uint8)  # RGB red
    import cv2
    cv2.imwrite(str(seq / "00000001.jpg"), image[..., ::-1])
    got = GOT10k(tmp_path / "got")
    assert got.sequence_info(0).visible.tolist() == [True, False]
    frame = got.frames(0, [0])[0]
    assert frame.shape == (50, 60, 3) and frame[..., 0].mean() > 200 and frame[..., 2].mean() < 50
    (tmp_path / "split.txt").write_text("0\n")
    assert len(GOT10k(tmp_path / "got", split_file=tmp_path / "split.txt")) == 1
    with pytest.raises(DatasetError, match="TRAIN_0"):
        TrackingNet(tmp_path / "tn", chunks=[0])
    _write_boxes(tmp_path / "tn" / "TRAIN_0" / "anno" / "abc.txt", 4)
    assert len(TrackingNet(tmp_path / "tn", chunks=[0]).sequence_info(0).boxes) == 4
    with pytest.raises(DatasetError, match="instances_train2017.json"):
        (tmp_path / "coco" / "train2017").mkdir(parents=True)
        COCO(tmp_path / "coco")
