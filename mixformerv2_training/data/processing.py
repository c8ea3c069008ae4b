"""Template/search crops with the reference jitter and augmentations (docs/training.md).

Crops come from the tracker's own geometry (:func:`mixformerv2_core.geometry.crop_window` and
:func:`~mixformerv2_core.geometry.sample_target`) and normalisation
(:func:`mixformerv2_core.preprocessing.normalize_crop`), so training sees exactly what tracking sees.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from mixformerv2_core.geometry import CropWindow, crop_window, sample_target, valid_region
from mixformerv2_core.preprocessing import normalize_crop


class InvalidSample(Exception):
    """The jittered crop is unusable (degenerate or entirely padding); the sampler draws again."""


@dataclass(frozen=True)
class ProcessingParams:
    template_size: int = 128
    search_size: int = 288
    template_factor: float = 2.0
    search_factor: float = 5.0
    search_scale_jitter: float = 0.5
    search_center_jitter: float = 4.5
    grayscale_prob: float = 0.05
    joint_flip_prob: float = 0.5
    crop_flip_prob: float = 0.5
    brightness_jitter: float = 0.2  # factor drawn from U[1 - j, 1 + j]
    patch_size: int = 16


def jitter_box(box: np.ndarray, scale_jitter: float, center_jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Log-normal size jitter per axis, then a centre offset of up to ``center_jitter / 2`` box scales."""
    x, y, w, h = (float(v) for v in box)
    size = np.array([w, h]) * np.exp(rng.standard_normal(2) * scale_jitter)
    offset = math.sqrt(size[0] * size[1]) * center_jitter * (rng.random(2) - 0.5)
    center = np.array([x + 0.5 * w, y + 0.5 * h]) + offset
    return np.array([center[0] - 0.5 * size[0], center[1] - 0.5 * size[1], size[0], size[1]])


def box_in_crop(gt: np.ndarray, crop_center_box: np.ndarray, window: CropWindow) -> np.ndarray:
    """Ground truth as normalised ``x, y, w, h`` in the crop around ``crop_center_box`` (reference formula)."""
    size = window.out_size
    rf = window.resize_factor
    gx, gy, gw, gh = (float(v) for v in gt)
    jx, jy, jw, jh = (float(v) for v in crop_center_box)
    cx = (size - 1) / 2 + (gx + 0.5 * gw - jx - 0.5 * jw) * rf
    cy = (size - 1) / 2 + (gy + 0.5 * gh - jy - 0.5 * jh) * rf
    w, h = gw * rf, gh * rf
    return np.array([cx - 0.5 * w, cy - 0.5 * h, w, h], dtype=np.float32) / size


def _to_gray(image: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def _flip_box_pixels(box: np.ndarray, width: int) -> np.ndarray:
    x, y, w, h = box
    return np.array([(width - 1) - (x + w), y, w, h])


def _crop(frame: np.ndarray, center_box: np.ndarray, factor: float, out_size: int, patch: int) -> tuple[np.ndarray, CropWindow]:
    try:
        window = crop_window(center_box, factor, out_size)
    except ValueError as error:
        raise InvalidSample(str(error)) from None
    y0, y1, x0, x1 = valid_region(window, frame.shape[0], frame.shape[1])
    # Reject crops whose image part would vanish at the network's patch resolution (reference step 7).
    min_extent = window.size / (out_size / patch)
    if (y1 - y0) < min_extent or (x1 - x0) < min_extent:
        raise InvalidSample("crop is (almost) entirely padding")
    return sample_target(frame, window), window


class TrackingProcessing:
    """Turns two template frames and one search frame (with boxes) into normalised network inputs."""

    def __init__(self, params: ProcessingParams, train: bool = True) -> None:
        self.params = params
        self.train = train

    def _crop_augment(self, crop: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        p = self.params
        if self.train and p.brightness_jitter > 0:
            factor = rng.uniform(1 - p.brightness_jitter, 1 + p.brightness_jitter)
            crop = np.clip(crop.astype(np.float32) * factor, 0, 255).astype(np.uint8)
        flip = self.train and rng.random() < p.crop_flip_prob
        if flip:
            crop = np.ascontiguousarray(crop[:, ::-1])
        return crop, flip

    def __call__(
        self,
        template_frames: Sequence[np.ndarray],
        template_boxes: Sequence[np.ndarray],
        search_frame: np.ndarray,
        search_box: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, np.ndarray]:
        p = self.params
        frames = list(template_frames) + [search_frame]
        boxes = [np.asarray(b, dtype=np.float64) for b in list(template_boxes) + [search_box]]
        # Joint transform: one roll for all three frames (applied to validation too, as the reference does).
        if rng.random() < p.grayscale_prob:
            frames = [_to_gray(f) for f in frames]
        if rng.random() < p.joint_flip_prob:
            frames = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
            boxes = [_flip_box_pixels(b, f.shape[1]) for b, f in zip(boxes, frames)]
        templates = []
        for frame, box in zip(frames[:-1], boxes[:-1]):
            crop, _ = _crop(frame, box, p.template_factor, p.template_size, p.patch_size)
            crop, _ = self._crop_augment(crop, rng)
            templates.append(normalize_crop(crop, "rgb"))
        jittered = jitter_box(boxes[-1], p.search_scale_jitter, p.search_center_jitter, rng) if self.train else boxes[-1]
        crop, window = _crop(frames[-1], jittered, p.search_factor, p.search_size, p.patch_size)
        anno = box_in_crop(boxes[-1], jittered, window)
        crop, flipped = self._crop_augment(crop, rng)
        if flipped:
            anno[0] = 1.0 - anno[0] - anno[2]
        return {
            "template_images": np.stack(templates),
            "search_images": normalize_crop(crop, "rgb"),
            "search_anno": anno,
        }
