"""One contract for every registered backend: same boxes as PyTorch float32 within the backend's stated
tolerance, targets added and removed, bad input refused with a reason.
"""
from __future__ import annotations

import numpy as np
import pytest

from mixformerv2_core import MultiTargetTracker, read_checkpoint
from mixformerv2_core.backends import available_backends, box_tolerance, create_backend
from mixformerv2_core.synthetic import generate_sequence

CUDA_ONLY = "needs a CUDA device"
EXPORTED = ("onnx", "openvino")  # backends that export bundles: into the test session's cache, one thread


def _options(name, onnx_cache):
    return {"cache_dir": str(onnx_cache), "threads": 1} if name.startswith(EXPORTED) else {}


def _backend(name, checkpoint, onnx_cache):
    try:
        return create_backend(name, read_checkpoint(checkpoint), **_options(name, onnx_cache))
    except RuntimeError as error:
        if CUDA_ONLY in str(error):
            pytest.skip(f"{name}: {error} (checked on a GPU machine only)")
        raise


def _tracker(name, checkpoint, onnx_cache):
    try:
        return MultiTargetTracker.from_checkpoint(str(checkpoint), backend=name, backend_options=_options(name, onnx_cache),
                                                  search_factor=4.0)
    except RuntimeError as error:
        if CUDA_ONLY in str(error):
            pytest.skip(f"{name}: {error} (checked on a GPU machine only)")
        raise


@pytest.mark.parametrize("name", available_backends())
def test_same_network_outputs_as_torch_within_the_stated_tolerance(name, tiny_checkpoint, onnx_cache):
    config = read_checkpoint(tiny_checkpoint).config
    rng = np.random.default_rng(1)
    template, online = (rng.standard_normal((3, config.template_size, config.template_size)).astype(np.float32)
                        for _ in range(2))
    search = rng.standard_normal((3, 3, config.search_size, config.search_size)).astype(np.float32)
    outputs = {}
    for backend_name in ("torch", name):
        backend = _backend(backend_name, tiny_checkpoint, onnx_cache)
        assert backend.crop_spec == config.crop_spec  # all the tracker reads of the network
        for key in range(3):
            backend.set_templates(key, template, online)
        outputs[backend_name] = backend.infer([0, 1, 2], search)
    difference = np.abs(outputs[name].pred_boxes - outputs["torch"].pred_boxes).max()
    assert outputs[name].pred_boxes.shape == (3, 4) and outputs[name].score_logits.shape == (3,)
    assert difference <= box_tolerance(name), f"{name}: {difference} > stated {box_tolerance(name)}"


@pytest.mark.parametrize("name", available_backends())
def test_targets_come_and_go_and_bad_input_is_refused(name, tiny_checkpoint, onnx_cache):
    sequence = generate_sequence(seed=5, num_frames=6, frame_size=(120, 160))
    tracker = _tracker(name, tiny_checkpoint, onnx_cache)
    first = sequence.frames[0]
    tracker.add("a", first, tuple(sequence.boxes[0]))
    tracker.add("b", first, (10.0, 10.0, 30.0, 25.0))
    assert set(tracker.track(sequence.frames[1])) == {"a", "b"}
    tracker.remove("a")
    results = tracker.track(sequence.frames[2])
    assert set(results) == {"b"} and all(np.isfinite(results["b"].box))
    tracker.add("a", sequence.frames[2], tuple(sequence.boxes[2]))
    assert set(tracker.track(sequence.frames[3])) == {"a", "b"}
    with pytest.raises(ValueError, match="box"):
        tracker.add("c", first, (float("nan"), 0.0, 10.0, 10.0))
    with pytest.raises(ValueError):
        tracker.track(first.astype(np.float32))
    with pytest.raises(ValueError):
        tracker.track(first[:, :, :2])
    assert set(tracker.track(sequence.frames[4])) == {"a", "b"}  # a refused input changes nothing
    tracker.reset()
    assert len(tracker) == 0
    with pytest.raises(RuntimeError, match="before any target"):
        tracker.track(sequence.frames[5])
