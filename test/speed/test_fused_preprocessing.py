"""The fused crop equals the reference crop (geometry.sample_target + normalize_crop) at every border case,
and reuses its buffers instead of allocating per frame.
"""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from mixformerv2_core.geometry import CropWindow, crop_window, sample_target
from mixformerv2_core.preprocessing import FusedCropper, crop_and_normalize, normalization_table, normalize_crop

HEIGHT, WIDTH = 48, 64


@pytest.fixture(scope="module")
def frame():
    return np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def _reference(frame, window, color_order):
    return normalize_crop(sample_target(frame, window), color_order)


# (x1, y1, size): every way a window can meet the image border, larger than the image, outside it, tiny.
BORDER_CASES = {
    "inside": (10, 8, 20),
    "left": (-7, 8, 20),
    "right": (50, 8, 20),
    "top": (10, -9, 20),
    "bottom": (10, 40, 20),
    "top_left_corner": (-5, -5, 16),
    "bottom_right_corner": (55, 40, 16),
    "ends_at_last_column": (44, 5, 20),  # x1 + size == WIDTH: the last column becomes padding (+1 rule)
    "ends_before_last_column": (43, 5, 20),
    "ends_at_last_row": (5, 28, 20),
    "larger_than_image": (-30, -40, 130),
    "outside_left": (-40, 5, 20),
    "outside_below": (5, HEIGHT + 3, 20),
    "one_pixel": (3, 4, 1),
    "one_pixel_on_border": (WIDTH - 1, HEIGHT - 1, 1),
    "full_frame": (0, 0, 64),
}


@pytest.mark.parametrize("color_order", ["rgb", "bgr"])
@pytest.mark.parametrize("out_size", [16, 32, 96])  # down-, near- and up-sampling
@pytest.mark.parametrize("case", sorted(BORDER_CASES))
def test_fused_crop_equals_reference(frame, case, out_size, color_order):
    x1, y1, size = BORDER_CASES[case]
    window = CropWindow(x1, y1, size, out_size)
    out = np.full((3, out_size, out_size), np.nan, dtype=np.float32)
    result = FusedCropper(color_order)(frame, window, out)
    assert result is out
    np.testing.assert_array_equal(out, _reference(frame, window, color_order))  # max difference: 0


def test_random_windows_equal_reference(frame):
    rng = np.random.default_rng(1)
    cropper = FusedCropper("rgb")
    for _ in range(300):
        size = int(rng.integers(1, 150))
        window = CropWindow(int(rng.integers(-size - 3, WIDTH + 3)), int(rng.integers(-size - 3, HEIGHT + 3)),
                            size, int(rng.choice([8, 32, 112])))
        np.testing.assert_array_equal(cropper(frame, window), _reference(frame, window, "rgb"))


def test_non_contiguous_frame(frame):
    view = np.ascontiguousarray(np.concatenate([frame, frame], axis=1))[:, ::2]
    window = CropWindow(-3, 10, 40, 32)
    np.testing.assert_array_equal(FusedCropper("bgr")(view, window), _reference(view, window, "bgr"))


def test_crop_and_normalize_uses_the_window_of_the_box(frame):
    box = (20.5, 12.25, 10.0, 7.0)
    out, window = crop_and_normalize(frame, box, 4.0, 32, "rgb")
    assert window == crop_window(box, 4.0, 32)
    np.testing.assert_array_equal(out, _reference(frame, window, "rgb"))


def test_no_per_frame_allocations(frame):
    cropper = FusedCropper("rgb")
    out = np.empty((3, 224, 224), dtype=np.float32)
    windows = [CropWindow(-20 + 3 * i, -10 + 2 * i, 90 - i, 224) for i in range(10)]
    for window in windows:  # warm-up: buffers are created once per output size / largest window
        cropper(frame, window, out)
    tracemalloc.start()
    try:
        for window in windows:
            cropper(frame, window, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024, f"{peak} bytes allocated while cropping into a preallocated buffer"


@pytest.mark.parametrize("color_order", ["rgb", "bgr"])
@pytest.mark.parametrize("case", sorted(BORDER_CASES))
def test_torch_crop_is_within_one_grey_level(frame, case, color_order):
    import torch

    from mixformerv2_core.preprocessing import IMAGENET_STD
    from mixformerv2_core.torch_crop import crop_and_normalize_torch

    x1, y1, size = BORDER_CASES[case]
    for out_size in (16, 96):
        window = CropWindow(x1, y1, size, out_size)
        got = crop_and_normalize_torch(torch.from_numpy(frame), window, color_order).numpy()
        grey_levels = np.abs(got - _reference(frame, window, color_order)) * 255 * IMAGENET_STD[:, None, None]
        assert grey_levels.max() <= 1.0 + 1e-4  # OpenCV's fixed-point weights round differently


@pytest.mark.parametrize("color_order", ["rgb", "bgr"])
def test_normalization_table_follows_the_colour_order(color_order):
    """Row c of the table is input channel c of a frame in that order, exactly as normalize_crop computes it."""
    levels = np.arange(256, dtype=np.uint8)
    pixels = np.stack([levels, levels[::-1], np.roll(levels, 77)], axis=-1)[None]  # (1, 256, 3): every value
    expected = normalize_crop(pixels, color_order)[:, 0]  # (3, 256) in RGB output order
    table = normalization_table(color_order)
    looked_up = np.stack([table[c][pixels[0, :, c]] for c in range(3)])  # per input channel
    in_rgb = looked_up[::-1] if color_order == "bgr" else looked_up
    np.testing.assert_array_equal(in_rgb, expected)
    with pytest.raises(ValueError):
        normalization_table("rgba")
