"""The tracker gives the same boxes with the ONNX backend as with the torch backend; INT8 and BF16 run and
stay close to fp32; misuse of the backend is refused with a reason.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from mixformerv2_core import MultiTargetTracker, read_checkpoint
from mixformerv2_core.backends import available_backends, create_backend
from mixformerv2_core.export import read_manifest
from mixformerv2_core.export.quantize import recipe_for_cpu
from mixformerv2_core.geometry import box_iou
from mixformerv2_core.synthetic import generate_sequence

# Stated bounds for reduced precision on the tiny network over the generated sequence below (boxes in pixels
# of a 240x320 frame; the networks see the same crops as the fp32 tracker).
INT8_MIN_MEAN_IOU = 0.9
BF16_MIN_MEAN_IOU = 0.9


@pytest.fixture(scope="module")
def sequence():
    return generate_sequence(seed=3, num_frames=24, frame_size=(240, 320))


def _run(tracker: MultiTargetTracker, sequence, second_target_from: int = 8) -> dict:
    """Two targets: 0 from the first frame, 1 (a shifted box) added later and removed again."""
    tracker.add(0, sequence.frames[0], sequence.boxes[0])
    boxes: dict = {0: [], 1: []}
    for index, frame in enumerate(sequence.frames[1:], start=1):
        if index == second_target_from:
            tracker.add(1, frame, sequence.boxes[index] + np.array([20.0, 10.0, 0.0, 0.0]))
        if index == second_target_from + 8:
            tracker.remove(1)
        for key, result in tracker.track(frame).items():
            boxes[key].append(result.box)
    return {key: np.array(value) for key, value in boxes.items()}


def _tracker(checkpoint, backend, onnx_cache, **options):
    return MultiTargetTracker.from_checkpoint(
        read_checkpoint(checkpoint), backend=backend, update_interval=3,
        backend_options={"cache_dir": str(onnx_cache), "threads": 1} if backend.startswith("onnx") else None,
        **options)


def test_backends_are_registered():
    assert {"torch", "onnx", "onnx-int8", "openvino", "openvino-int8"} <= set(available_backends())


def test_onnx_tracker_reproduces_torch_tracker(tiny_checkpoint, onnx_cache, sequence):
    reference = _run(_tracker(tiny_checkpoint, "torch", onnx_cache), sequence)
    onnx_boxes = _run(_tracker(tiny_checkpoint, "onnx", onnx_cache), sequence)
    for key in reference:
        assert reference[key].shape == onnx_boxes[key].shape and len(reference[key]) > 0
        np.testing.assert_allclose(onnx_boxes[key], reference[key], atol=1e-2)


def test_cached_bundle_is_reused(tiny_checkpoint, onnx_cache):
    checkpoint = read_checkpoint(tiny_checkpoint)
    first = create_backend("onnx", checkpoint, cache_dir=str(onnx_cache))
    second = create_backend("onnx", checkpoint, cache_dir=str(onnx_cache))
    assert first.bundle_dir == second.bundle_dir
    assert first.precision == "fp32" and first.providers == ["CPUExecutionProvider"]


def test_cached_int8_bundle_of_another_recipe_is_not_reused(tiny_checkpoint, onnx_cache):
    """An INT8 bundle cached by the earlier (full-range weight) recipe sits in ``<digest>/int8``; it must be
    exported afresh rather than loaded.
    """
    checkpoint = read_checkpoint(tiny_checkpoint)
    fp32 = create_backend("onnx", checkpoint, cache_dir=str(onnx_cache))
    stale = fp32.bundle_dir.parent / "int8"
    shutil.copytree(fp32.bundle_dir, stale, dirs_exist_ok=True)  # a loadable bundle where old caches kept int8
    int8 = create_backend("onnx-int8", checkpoint, cache_dir=str(onnx_cache))
    assert int8.bundle_dir != stale and int8.precision == "int8"
    assert read_manifest(int8.bundle_dir)["meta"]["int8_recipe"] == recipe_for_cpu()


def _same_input_ious(checkpoint, backend, onnx_cache, sequence, num_frames: int = 24, **options) -> float:
    """Per-frame IoU between fp32 and reduced-precision boxes on identical search crops."""
    fp32 = _tracker(checkpoint, "torch", onnx_cache)
    other = _tracker(checkpoint, backend, onnx_cache, **options)
    fp32.add(0, sequence.frames[0], sequence.boxes[0])
    other.add(0, sequence.frames[0], sequence.boxes[0])
    ious = []
    for frame in sequence.frames[1:num_frames]:
        previous = fp32.last_result(0).box
        other._targets[0].box = previous  # feed both the same crop: judge the network, not the trajectory
        ious.append(box_iou(fp32.track(frame)[0].box, other.track(frame)[0].box))
    return float(np.mean(ious))


def test_int8_tracker_stays_within_bound(tiny_checkpoint, onnx_cache, sequence):
    assert _same_input_ious(tiny_checkpoint, "onnx-int8", onnx_cache, sequence) >= INT8_MIN_MEAN_IOU


def test_bf16_tracker_stays_within_bound(tiny_checkpoint, onnx_cache, sequence):
    # bfloat16 is emulated (slowly) on CPUs without native support, so fewer frames here
    iou = _same_input_ious(tiny_checkpoint, "torch", onnx_cache, sequence, num_frames=9, precision="bfloat16")
    assert iou >= BF16_MIN_MEAN_IOU


def test_bad_options_are_refused(tiny_checkpoint, onnx_cache, tmp_path):
    checkpoint = read_checkpoint(tiny_checkpoint)
    with pytest.raises(ValueError, match="torch"):
        create_backend("onnx", checkpoint, precision="bfloat16", cache_dir=str(onnx_cache))
    with pytest.raises(ValueError, match="not an ONNX bundle"):
        create_backend("onnx", checkpoint, bundle_dir=str(tmp_path))
    with pytest.raises(ValueError, match="device"):
        create_backend("onnx", checkpoint, device="tpu", cache_dir=str(onnx_cache))
    with pytest.raises(KeyError):
        create_backend("onnx", checkpoint, cache_dir=str(onnx_cache)).infer(["missing"], np.zeros((1, 3, 64, 64), np.float32))


def test_bundle_of_another_network_is_refused(tiny_checkpoint, onnx_cache, tmp_path):
    import torch

    from mixformerv2_core import ModelConfig, build_model
    from mixformerv2_core.export import export_bundle

    torch.manual_seed(5)
    export_bundle(build_model(ModelConfig.tiny(depth=1)), tmp_path, check_batches=())
    with pytest.raises(ValueError, match="different network"):
        create_backend("onnx", read_checkpoint(tiny_checkpoint), bundle_dir=str(tmp_path))
