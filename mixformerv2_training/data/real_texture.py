"""Real-texture training scenes: the generated scenes' motion (core ``SyntheticScene``: trajectories, scale
change, panning camera, look-alike distractors, a sweeping occluder, hiding and leaving the frame) drawn with
real imagery from the package registries instead of generated patterns (docs/demo_model.md, "Data sources").

The target is a crop of a real photo (with an object-like outline two times in three), the distractors are other
crops of the same photo (look-alikes), the occluder a crop of another photo, the background another photo or a
real video playing behind; on top come in-plane rotation of the target, illumination drift and motion blur.
Everything is a pure function of the scene seed and the installed files, as for the generated scenes.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from mixformerv2_core.synthetic import ABSENCE_MODES, EXIT_FRAMES, SyntheticScene, _Mover

from .readers import video_frames
from .registry import DEFAULT_PHOTO_PACKAGES, HELD_OUT_EVERY, object_paths, photo_paths, video_paths
from .synthetic import SyntheticTrackingDataset

MAX_PHOTO_SIDE = 640  # photos are kept at most this large in memory (per worker process)
MAX_VIDEO_SIDE = 360
VIDEO_FRAME_STEP = 2  # every other video frame is kept: backgrounds move, memory stays small
TEXTURE_SIDE = 96  # target, distractor and occluder cut-outs are stored at most this large


def _fit(image: np.ndarray, max_side: int) -> np.ndarray:
    scale = max_side / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image


@lru_cache(maxsize=128)
def _load_photo(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read image {path}")
    return _fit(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), MAX_PHOTO_SIDE)


@lru_cache(maxsize=512)
def load_object(path: Path) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """An object stamp as (RGB cut-out, outline mask) cropped to its outline, so that the box is tight; a stamp
    without an alpha channel is its whole rectangle (mask None).
    """
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3:
        raise OSError(f"cannot read a colour image from {path}")
    if image.shape[2] < 4:
        return _fit(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), TEXTURE_SIDE), None
    shape = image[..., 3] >= 128
    rows, cols = np.flatnonzero(shape.any(axis=1)), np.flatnonzero(shape.any(axis=0))
    if len(rows) < 2 or len(cols) < 2:
        raise OSError(f"{path} shows nothing (its alpha channel is empty)")
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    rgb = _fit(cv2.cvtColor(np.ascontiguousarray(image[box][..., :3]), cv2.COLOR_BGR2RGB), TEXTURE_SIDE)
    mask = cv2.resize(shape[box].astype(np.uint8), rgb.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    return rgb, mask


@lru_cache(maxsize=8)
def load_video(path: Path) -> tuple[np.ndarray, ...]:
    """Every VIDEO_FRAME_STEP-th frame of a video (file or folder of frames), RGB, at most MAX_VIDEO_SIDE large
    (cached per process).
    """
    frames = [_fit(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), MAX_VIDEO_SIDE)
              for index, frame in enumerate(video_frames(path))
              if index % VIDEO_FRAME_STEP == 0 and frame.mean() > 8]  # black lead-in frames are no background
    if not frames:
        raise OSError(f"cannot read video {path}")
    return tuple(frames)


class RealImages:
    """The registry photos and videos a dataset draws from; files load lazily, once per process.

    ``split``: ``"train"`` (four photos in five, and the videos), ``"held_out"`` (the fifth photo, no videos:
    there are only two), or ``"all"``; held-out scenes thus never show a training photo. ``objects``: also the
    object stamps (registry.object_paths), split the same way.
    """

    def __init__(self, packages: Sequence[str] = DEFAULT_PHOTO_PACKAGES,
                 videos: bool = True, split: str = "train", objects: bool = False) -> None:
        self.photos = photo_paths(tuple(packages), split)  # refuses an unknown split; names an absent package
        videos = videos and split != "held_out"
        self.videos = video_paths(tuple(p for p in packages if p == "opencv-doc")) if videos else []
        self.objects = _split(object_paths(), split) if objects else []

    def photo(self, rng: np.random.Generator) -> np.ndarray:
        return _load_photo(self.photos[int(rng.integers(len(self.photos)))])

    def video(self, rng: np.random.Generator) -> Optional[tuple[np.ndarray, ...]]:
        return load_video(self.videos[int(rng.integers(len(self.videos)))]) if self.videos else None

    def object(self, rng: np.random.Generator, like: Optional[Path] = None) -> Path:
        """An object stamp; ``like``: one of the same kind (its folder), the look-alikes of an object."""
        kin = [path for path in self.objects if like is not None and path.parent == like.parent and path != like]
        choices = kin or self.objects
        return choices[int(rng.integers(len(choices)))]


def _split(paths: list[Path], split: str) -> list[Path]:
    """Every HELD_OUT_EVERY-th path is held out; ``split`` says which part to keep."""
    return [path for index, path in enumerate(paths)
            if split == "all" or (index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1) == (split == "held_out")]


def _cut(image: np.ndarray, rng: np.random.Generator, near: Optional[tuple[float, float]] = None) -> np.ndarray:
    """A crop of 15-45 % of the photo's short side, aspect 0.6-1.6; ``near``: a centre to stay around."""
    height, width = image.shape[:2]
    side = rng.uniform(0.15, 0.45) * min(height, width)
    aspect = float(np.exp(rng.uniform(-0.5, 0.5)))
    w, h = int(min(width - 1, max(8, side * np.sqrt(aspect)))), int(min(height - 1, max(8, side / np.sqrt(aspect))))
    if near is None:
        x, y = rng.integers(0, width - w + 1), rng.integers(0, height - h + 1)
    else:  # a look-alike: the same kind of texture close by
        x = int(np.clip(near[0] + rng.normal(0, w), 0, width - w))
        y = int(np.clip(near[1] + rng.normal(0, h), 0, height - h))
    return _fit(np.ascontiguousarray(image[y:y + h, x:x + w]), TEXTURE_SIDE)


def silhouette(rng: np.random.Generator, size: int = TEXTURE_SIDE) -> Optional[np.ndarray]:
    """An object-like outline for a cut-out, as a ``size x size`` mask touching all four sides (so the box stays
    tight): an ellipse or the rectangle with its corners cut off at random depths; None (the whole rectangle)
    a third of the time.
    """
    kind = int(rng.integers(3))
    if kind == 0:
        return None
    mask = np.zeros((size, size), np.uint8)
    if kind == 1:
        cv2.ellipse(mask, (size // 2, size // 2), (size // 2, size // 2), 0, 0, 360, 1, -1)
    else:
        cut = rng.uniform(0.1, 0.35, 4) * size  # top-left, top-right, bottom-right, bottom-left
        end = size - 1
        corners = [[cut[0], 0], [end - cut[1], 0], [end, cut[1]], [end, end - cut[2]], [end - cut[2], end],
                   [cut[3], end], [0, end - cut[3]], [0, cut[0]]]
        cv2.fillConvexPoly(mask, np.round(corners).astype(np.int32), 1)
    return mask


class RealTextureScene(SyntheticScene):
    """A :class:`SyntheticScene` whose every surface is real imagery; boxes and visibility are the scene's."""

    def __init__(self, images: RealImages, seed: int = 0, num_frames: int = 60,
                 frame_size: tuple[int, int] = (480, 640), max_rotation: float = 25.0, illumination: float = 0.3,
                 blur_prob: float = 0.15, video_background_prob: float = 0.3, absence_prob: float = 0.3,
                 attach_prob: float = 0.0, attach_lookalike: bool = False, passer_prob: float = 0.0,
                 grip_prob: float = 0.0, object_prob: float = 0.0, **scene_options) -> None:
        """``max_rotation``: largest in-plane turn of the target (degrees); ``illumination``: largest relative
        brightness drift; ``blur_prob``: share of motion-blurred frames; ``absence_prob``: share of scenes where
        the target is fully hidden or leaves the frame and comes back (unless ``absences`` are given);
        ``attach_prob``: share of scenes where something else clings to the target (:meth:`_attach`);
        ``attach_lookalike``: that something is cut from the target's own photo next to it, a look-alike touching
        the target (a person beside another), instead of from another photo; ``passer_prob``: share of scenes
        where a look-alike walks past in front of the target (:meth:`_passing_lookalike`); ``grip_prob``: share of
        scenes where something in front of the target moves with it and covers a band across it
        (:meth:`_gripping`); ``object_prob``: share of scenes whose target is a photographed object along its own
        outline, its look-alikes objects of the same kind (``images`` made with ``objects=True``;
        :meth:`_objects`); other options go to the scene.
        """
        rng = np.random.default_rng([seed, 0x5EA1])  # a stream of its own: the geometry stays the scene's
        if "absences" not in scene_options and rng.random() < absence_prob and num_frames >= 40:
            length = int(rng.integers(5, min(20, num_frames // 4) + 1))
            start = int(rng.integers(EXIT_FRAMES + 1, num_frames - length - EXIT_FRAMES))
            scene_options = {**scene_options, "absences": [(start, start + length)],
                             "absence_mode": ABSENCE_MODES[int(rng.integers(len(ABSENCE_MODES)))]}
        super().__init__(seed=seed, num_frames=num_frames, frame_size=frame_size, **scene_options)
        source = images.photo(rng)
        self._target.texture = _cut(source, rng)
        centre = (rng.uniform(0, source.shape[1]), rng.uniform(0, source.shape[0]))
        for mover in self._distractors:
            mover.texture = _cut(source, rng, near=centre)
        # Object-like outlines for the target and its look-alikes (the occluder stays a bar).
        self._masks = {id(mover): silhouette(rng) for mover in [self._target, *self._distractors]}
        if self._occluder is not None:
            self._occluder.texture = _cut(images.photo(rng), rng)
        self._size = self._background.shape[1::-1]
        self._still = self._background = cv2.resize(images.photo(rng), self._size, interpolation=cv2.INTER_AREA)
        self._video = images.video(rng) if rng.random() < video_background_prob else None  # shared, not copied
        self._video_start = int(rng.integers(len(self._video))) if self._video else 0
        phase, period = rng.uniform(0, 2 * np.pi), rng.uniform(30, 90)
        frames = np.arange(num_frames)
        self._angles = max_rotation * rng.uniform(0, 1) * np.sin(phase + 2 * np.pi * frames / period)
        self._gains = 1 + illumination * rng.uniform(-1, 1) * np.sin(rng.uniform(0, 2 * np.pi) + frames / period)
        self._blur_prob = float(blur_prob)
        look_alikes = list(self._distractors)  # an attachment joins the distractors below; it is no look-alike
        attach_rng = np.random.default_rng([seed, 0xA77])  # its own stream: scenes without stay seed for seed
        if attach_rng.random() < attach_prob:
            self._attach(_cut(source, attach_rng, near=centre) if attach_lookalike else
                         _cut(images.photo(attach_rng), attach_rng), attach_rng)
        passer_rng = np.random.default_rng([seed, 0xC055])  # its own stream as well
        self._passer = None
        if passer_rng.random() < passer_prob:
            self._passer = self._passing_lookalike(_cut(source, passer_rng, near=centre), passer_rng)
        grip_rng = np.random.default_rng([seed, 0x6219])  # the grip's own stream
        self._grip = self._gripping(_cut(images.photo(grip_rng), grip_rng), grip_rng) if (
            grip_rng.random() < grip_prob) else None
        object_rng = np.random.default_rng([seed, 0x0B1EC7])  # its own stream too
        if images.objects and object_rng.random() < object_prob:
            self._objects(images, object_rng, look_alikes + ([self._passer] if self._passer is not None else []))

    def _objects(self, images: RealImages, rng: np.random.Generator, look_alikes: list) -> None:
        """The target becomes an object stamp, and its look-alikes other objects of its kind. The box keeps the
        scene's aspect: the object is stretched to it, as the photo cut-outs are.
        """
        target = images.object(rng)
        for mover, path in [(self._target, target)] + [(m, images.object(rng, like=target)) for m in look_alikes]:
            mover.texture, self._masks[id(mover)] = load_object(path)

    def _attach(self, texture: np.ndarray, rng: np.random.Generator) -> None:
        """``texture`` (another photo's cut-out, or a look-alike) moves with the target and reaches into one of
        its sides behind it, as a hand holds a cup: the box is what the template shows, not the whole blob that
        stands out from the background.
        """
        side = int(rng.integers(4))  # left, right, top, bottom
        axis, sign = side // 2, (-1.0, 1.0)[side % 2]
        sizes = self._target.sizes * rng.uniform(0.4, 1.0, 2)
        overlap = rng.uniform(0.0, 0.4)  # of the attachment's size along the axis
        offset = np.zeros_like(sizes)
        offset[:, axis] = sign * (self._target.sizes[:, axis] / 2 + sizes[:, axis] * (0.5 - overlap))
        across = 1 - axis
        offset[:, across] = rng.uniform(-0.4, 0.4) * self._target.sizes[:, across]
        holder = _Mover(texture, self._target.centers + offset, sizes)
        self._masks[id(holder)] = silhouette(rng)
        self._distractors.append(holder)  # distractors are drawn before (behind) the target

    def _passing_lookalike(self, texture: np.ndarray, rng: np.random.Generator) -> _Mover:
        """A look-alike of about the target's size in front of it once, slightly off its centre line: either
        crossing it at a steady pace, as one pedestrian passes another, or standing where the target walks
        behind it (when the target has moved well clear of that spot by then, so the first frame shows the
        target). The target's box stays the label while it is covered, so the box must not follow the passer.
        """
        frames = np.arange(self.num_frames, dtype=np.float64)
        crossing = int(rng.uniform(0.2, 0.8) * self.num_frames)
        side = float(np.sqrt(self._target.sizes.prod(axis=1).mean()))
        angle = rng.uniform(0, 2 * np.pi)
        along, across = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
        offset = rng.uniform(-0.3, 0.3) * side * across
        travelled = np.linalg.norm(self._target.centers[crossing] - self._target.centers[0])
        if rng.random() < 0.5 and travelled > 1.5 * side:  # standing
            centers = np.repeat(self._target.centers[crossing][None] + offset, self.num_frames, axis=0)
        else:
            centers = self._target.centers + (frames - crossing)[:, None] * rng.uniform(0.05, 0.15) * side * along
            centers = centers + offset
        passer = _Mover(texture, centers, self._target.sizes * rng.uniform(0.8, 1.25, 2))
        self._masks[id(passer)] = silhouette(rng)
        return passer

    def _gripping(self, texture: np.ndarray, rng: np.random.Generator) -> _Mover:
        """A band in front of the target that moves with it, as fingers across a held cup: it enters from one
        side, reaches 40-100 % across the target and covers 15-35 % of it the other way, off the middle, so the
        target shows on both sides of it. The label stays the whole target: the box must span the band, not
        shrink to the larger visible part.
        """
        target = self._target.sizes
        along = int(rng.integers(2))  # the band's long axis: 0 runs along x (covers rows), 1 along y
        across = 1 - along
        sizes = np.empty_like(target)
        sizes[:, across] = target[:, across] * rng.uniform(0.15, 0.35)
        sizes[:, along] = target[:, along] * rng.uniform(0.8, 1.6)
        reach = rng.uniform(0.4, 1.0)  # how far into the target its end comes
        offset = np.empty_like(target)
        offset[:, along] = rng.choice((-1.0, 1.0)) * (target[:, along] / 2 + sizes[:, along] / 2
                                                       - reach * target[:, along])
        offset[:, across] = rng.choice((-1.0, 1.0)) * rng.uniform(0.05, 0.25) * target[:, across]
        drawn = np.array([self._target_rect(index) for index in range(self.num_frames)], dtype=np.float64)
        grip = _Mover(texture, drawn[:, :2] + drawn[:, 2:] / 2 + offset, sizes)
        self._masks[id(grip)] = silhouette(rng)
        return grip

    def _background_at(self, index: int) -> np.ndarray:
        if self._video is None:
            return self._still
        period = 2 * len(self._video) - 2 or 1  # play forwards and back so any scene length fits
        step = (self._video_start + index) % period
        frame = self._video[step if step < len(self._video) else period - step]
        return cv2.resize(frame, self._size, interpolation=cv2.INTER_LINEAR)

    def _paste(self, frame: np.ndarray, mover, index: int, clamp: bool = True) -> None:
        angle = float(self._angles[index]) if mover is self._target else 0.0
        outline = self._masks.get(id(mover))
        if abs(angle) < 1.0 and outline is None:
            super()._paste(frame, mover, index, clamp)
            return
        # The outlined and turned cut-out inside the mover's box: the scene behind shows around it.
        x, y, w, h = self._rect(mover, index, clamp)
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        patch = cv2.warpAffine(cv2.resize(mover.texture, (w, h)), turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
        shape = np.ones((h, w), np.uint8) if outline is None else cv2.resize(outline, (w, h),
                                                                               interpolation=cv2.INTER_NEAREST)
        mask = cv2.warpAffine(shape, turn, (w, h), flags=cv2.INTER_NEAREST).astype(bool)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.width), min(y + h, self.height)
        if x0 < x1 and y0 < y1:
            region, keep = frame[y0:y1, x0:x1], mask[y0 - y:y1 - y, x0 - x:x1 - x]
            region[keep] = patch[y0 - y:y1 - y, x0 - x:x1 - x][keep]

    def render(self, index: int) -> np.ndarray:
        self._background = self._background_at(index)
        frame = super().render(index)
        if self._passer is not None:  # in front of everything, free to leave the frame
            self._paste(frame, self._passer, index, clamp=False)
        if self._grip is not None and self._target_drawn(index):  # a hidden target takes its grip along
            self._paste(frame, self._grip, index, clamp=False)
        frame = frame.astype(np.float32) * self._gains[index]
        rng = np.random.default_rng([self.seed, 0xB1, index])
        if rng.random() < self._blur_prob:  # camera shake: a short linear smear in a random direction
            length = int(rng.integers(3, 10))
            kernel = np.zeros((length, length), np.float32)
            kernel[length // 2] = 1.0 / length
            turn = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
            kernel = cv2.warpAffine(kernel, turn, (length, length))
            frame = cv2.filter2D(frame, -1, kernel / max(float(kernel.sum()), 1e-6))
        return np.clip(frame, 0, 255).astype(np.uint8)


class RealTextureDataset(SyntheticTrackingDataset):
    """Real-texture scenes as a training source (config ``type: real_texture``): sequence ``i`` is the scene
    with seed ``seed_offset + i``; ``packages`` are the registry sources to draw from (all must be installed),
    ``split`` which of their photos (:class:`RealImages`).
    """

    def __init__(self, num_sequences: int = 500, num_frames: int = 200, frame_size: tuple[int, int] = (240, 320),
                 seed_offset: int = 0, cache_size: int = 64, name: str = "real_texture",
                 scene_options: Optional[dict] = None,
                 packages: Sequence[str] = DEFAULT_PHOTO_PACKAGES,
                 videos: bool = True, split: str = "train", objects: bool = False) -> None:
        super().__init__(num_sequences, num_frames, frame_size, seed_offset, cache_size, name, scene_options)
        self.images = RealImages(packages, videos, split, objects)

    def make_scene(self, seed: int) -> SyntheticScene:
        return RealTextureScene(self.images, seed=seed, num_frames=self.num_frames, frame_size=self.frame_size,
                                **self.scene_options)
