"""Crop windows, padding at every border, map-back round trips and clip_box (docs/tracker.md)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mixformerv2_core.geometry import (
    CropWindow, box_iou, box_to_crop, clip_box, crop_window, map_box_back, sample_target, valid_region,
    validate_init_box,
)


def reference_crop(image, window):
    """Independent construction: pad the whole image generously with zeros, then slice the window."""
    h, w = image.shape[:2]
    pad = window.size + abs(window.x1) + abs(window.y1) + max(h, w)
    canvas = np.zeros((h + 2 * pad, w + 2 * pad, 3), image.dtype)
    # official '+1' rule: the last column/row is never taken when the window reaches that border
    keep_w = w - 1 if window.x1 + window.size > w - 1 else w
    keep_h = h - 1 if window.y1 + window.size > h - 1 else h
    canvas[pad:pad + keep_h, pad:pad + keep_w] = image[:keep_h, :keep_w]
    return canvas[pad + window.y1: pad + window.y1 + window.size, pad + window.x1: pad + window.x1 + window.size]


def test_crop_window_size_and_python_rounding():
    window = crop_window((10, 20, 30, 40), 2.0, 128)
    assert window.size == math.ceil(math.sqrt(1200) * 2.0) == 70
    assert (window.x1, window.y1) == (round(25 - 35), round(40 - 35))
    tie = crop_window((0.5, 0.0, 2, 2), 1.0, 8)  # x1 = round(0.5 + 1 - 1) = round(0.5) = 0 (ties to even)
    assert tie.x1 == 0 and crop_window((1.5, 0, 2, 2), 1.0, 8).x1 == 2
    assert window.resize_factor == pytest.approx(128 / 70)


@pytest.mark.parametrize("box", [
    (40, 30, 20, 20),      # inside
    (-15, 30, 20, 20),     # left border
    (90, 30, 20, 20),      # right border
    (40, -12, 20, 20),     # top
    (40, 70, 20, 20),      # bottom
    (-10, -10, 20, 20),    # top-left corner
    (95, 75, 20, 20),      # bottom-right corner
    (-200, -200, 20, 20),  # window entirely outside
    (0, 0, 120, 90),       # box as large as the image
])
def test_padding_at_every_border_matches_independent_construction(box):
    rng = np.random.default_rng(0)
    image = rng.integers(1, 255, (90, 120, 3), dtype=np.uint8)
    window = crop_window(box, 3.0, 48)
    patch = np.zeros((window.size, window.size, 3), np.uint8)
    y0, y1, x0, x1 = valid_region(window, 90, 120)
    if y0 < y1 and x0 < x1:
        patch[y0 - window.y1:y1 - window.y1, x0 - window.x1:x1 - window.x1] = image[y0:y1, x0:x1]
    np.testing.assert_array_equal(patch, reference_crop(image, window))
    assert sample_target(image, window).shape == (48, 48, 3)


def test_right_border_drops_the_last_column():
    image = np.full((10, 10, 3), 200, np.uint8)
    window = CropWindow(x1=5, y1=0, size=5, out_size=5)  # ends exactly at the image's right edge
    crop = sample_target(image, window)
    assert (crop[:, :4] == 200).all() and (crop[:, 4] == 0).all()


@pytest.mark.parametrize("box", [(50, 40, 1, 1), (10, 10, 300, 200), (33.3, 12.7, 17.1, 5.9)])
@pytest.mark.parametrize("previous", [(40, 40, 20, 20), (0, 0, 5, 80)])
def test_box_to_crop_and_back_round_trips(box, previous):
    size = crop_window(previous, 4.0, 64).size
    back = map_box_back(box_to_crop(box, previous, size), previous, size)
    np.testing.assert_allclose(back, box, atol=1e-9)


def test_map_back_of_centred_prediction_returns_previous_centre():
    previous = (100, 50, 40, 20)
    size = 140
    x, y, w, h = map_box_back((0.5, 0.5, 40 / size, 20 / size), previous, size)
    assert (x + w / 2, y + h / 2) == pytest.approx((120, 60)) and (w, h) == pytest.approx((40, 20))


def test_clip_box_by_hand():
    assert clip_box((-5, -5, 20, 20), 100, 100) == (0, 0, 15, 15)
    assert clip_box((95, 95, 20, 20), 100, 100) == (90, 90, 10, 10)
    assert clip_box((200, 200, 5, 5), 100, 100) == (90, 90, 10, 10)  # fully outside -> kept on the image
    assert clip_box((10, 10, -4, 3), 100, 100) == (10, 10, 10, 10)


@pytest.mark.parametrize("box, message", [
    ((10, 10, 0, 5), "positive width"), ((10, 10, -3, 5), "positive width"), ((float("nan"), 1, 2, 2), "non-finite"),
    ((500, 10, 5, 5), "outside"), ((-50, -50, 10, 10), "outside"), ((1, 2, 3), "4 numbers"),
])
def test_invalid_initial_boxes_are_refused(box, message):
    with pytest.raises(ValueError, match=message):
        validate_init_box(box, 100, 100)


def test_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
