"""Generated sequences are deterministic with exact boxes; result files round trip."""
from __future__ import annotations

import numpy as np
import pytest

from mixformerv2_core.results_io import read_boxes, write_boxes
from mixformerv2_core.synthetic import SyntheticScene, generate_sequence


def test_generation_is_deterministic_and_boxes_lie_in_the_frame():
    a = generate_sequence(seed=11, num_frames=40, frame_size=(120, 160))
    b = generate_sequence(seed=11, num_frames=40, frame_size=(120, 160))
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    np.testing.assert_array_equal(a.boxes, b.boxes)
    x, y, w, h = a.boxes.T
    assert (x >= 0).all() and (y >= 0).all() and (x + w <= 160).all() and (y + h <= 120).all() and (w >= 4).all()
    assert not np.array_equal(a.boxes[0], a.boxes[-1]), "the object should move"
    assert a.frames[0].shape == (120, 160, 3) and a.frames[0].dtype == np.uint8


def test_size_and_aspect_ranges_widen_the_targets_and_the_defaults_keep_every_seed():
    def first_box(seed, **options):
        return SyntheticScene(seed=seed, num_frames=2, frame_size=(240, 320), **options).boxes[0]

    for seed in range(3):  # the defaults draw the same numbers as before the options existed
        np.testing.assert_array_equal(first_box(seed), first_box(seed, scale_range=(0.12, 0.25), log_aspect=0.5))
    default = np.array([first_box(seed) for seed in range(40)])
    wide = np.array([first_box(seed, scale_range=(0.05, 0.45), log_aspect=1.1) for seed in range(40)])
    for boxes, (low, high) in ((default, (0.12, 0.25)), (wide, (0.05, 0.45))):
        side = np.sqrt(boxes[:, 2] * boxes[:, 3]) / 240  # base size x (0.65 .. 1.35) as the target grows
        assert (side > 0.6 * low).all() and (side < 1.4 * high).all()
    aspect = lambda boxes: np.abs(np.log(boxes[:, 2] / boxes[:, 3]))  # noqa: E731
    assert aspect(default).max() < 0.55 and aspect(wide).max() > 0.8
    assert np.sqrt(wide[:, 2] * wide[:, 3]).max() > 1.3 * np.sqrt(default[:, 2] * default[:, 3]).max()


def test_box_marks_the_drawn_object():
    scene = SyntheticScene(seed=2, num_frames=5, frame_size=(200, 240), num_distractors=0, occlusion=False)
    x, y, w, h = scene.box(3).astype(int)
    frame = scene.render(3)
    # the texture has a dark border: the box edges are black, the pixels just outside are background
    assert frame[y, x + w // 2].max() == 0 and frame[y + h - 1, x + w // 2].max() == 0
    assert frame[y + h // 2, x].max() == 0 and frame[y + h // 2, x + w - 1].max() == 0


def test_result_files_round_trip_and_reject_garbage(tmp_path):
    boxes = [(1.5, 2.25, 30.0, 40.125), (float("nan"),) * 4]
    path = write_boxes(tmp_path / "seq.txt", boxes, decimals=3)
    back = read_boxes(path)
    np.testing.assert_allclose(back[0], boxes[0])
    assert np.isnan(back[1]).all()
    (tmp_path / "tabs.txt").write_text("1\t2\t3\t4\n5 6 7 8\n")
    np.testing.assert_array_equal(read_boxes(tmp_path / "tabs.txt"), [[1, 2, 3, 4], [5, 6, 7, 8]])
    (tmp_path / "bad.txt").write_text("1,2,3\n")
    with pytest.raises(ValueError, match="bad.txt:1"):
        read_boxes(tmp_path / "bad.txt")


def test_atomic_writes_leave_no_temporary_files_and_normal_permissions(tmp_path, tiny_model):
    import os

    from mixformerv2_core import save_checkpoint

    old = os.umask(0o022)
    try:
        boxes = write_boxes(tmp_path / "r.txt", [(1, 2, 3, 4)])
        weights = save_checkpoint(tiny_model, tmp_path / "w.pt")
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt", "w.pt"]
    assert boxes.stat().st_mode & 0o777 == 0o644 and weights.stat().st_mode & 0o777 == 0o644
