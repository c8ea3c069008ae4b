"""What of the GPU path can be checked without a GPU: the captured graph's computation and the guard."""
from __future__ import annotations

import pytest
import torch

from mixformerv2_core import ModelConfig, build_model, read_checkpoint
from mixformerv2_core.backends import create_backend
from mixformerv2_core.export.graphs import SearchStepGraph, example_inputs, reference_search_outputs


@pytest.mark.parametrize("score_head", [True, False])
def test_search_step_graph_equals_cached_forward(score_head):
    torch.manual_seed(2)
    model = build_model(ModelConfig.tiny(score_head=score_head)).eval()
    sample = example_inputs(model, batch=3)
    with torch.no_grad():
        got = SearchStepGraph(model)(sample["search"], sample["template_kv"])
    for value, expected in zip(got, reference_search_outputs(model, sample["search"], sample["template_kv"])):
        torch.testing.assert_close(value, expected, rtol=0, atol=1e-6)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on machines without CUDA")
@pytest.mark.parametrize("options", [{}, {"device_crops": False}, {"device": "cpu", "precision": "float32"}])
def test_cuda_graph_backend_refuses_without_cuda(tiny_checkpoint, options):
    with pytest.raises(RuntimeError, match="CUDA"):
        create_backend("torch-cudagraph", read_checkpoint(tiny_checkpoint), **options)


@pytest.mark.parametrize("device_crops", [False, True])
def test_cuda_graph_backend_bookkeeping_matches_torch_on_static_buffers(tiny_checkpoint, device_crops):
    """The CUDA-graph backend keeps templates in the shared TemplateStore, whose batch is the step's static
    input: checked on CPU with the step run eagerly on those buffers (``capture=False``), against PyTorch,
    while targets come, go and get template updates .
    """
    import numpy as np

    from mixformerv2_core import MultiTargetTracker, TrackerParams
    from mixformerv2_core.backends import TorchBackend
    from mixformerv2_core.checkpoint import model_from_checkpoint
    from mixformerv2_core.backends.cuda_graph_backend import CudaGraphBackend
    from mixformerv2_core.synthetic import generate_sequence

    model = model_from_checkpoint(read_checkpoint(tiny_checkpoint))
    graphs = CudaGraphBackend(model, device="cpu", dtype="float32", capture=False, device_crops=device_crops)
    assert graphs.crop_spec == model.config.crop_spec
    # update_interval 1: every frame rewrites a slot of the static batch in place. Both sides crop alike.
    trackers = [MultiTargetTracker(backend, TrackerParams(search_factor=4.0, update_interval=1))
                for backend in (TorchBackend(model, device_crops=device_crops), graphs)]
    sequence = generate_sequence(seed=3, num_frames=8, frame_size=(120, 160))
    frames, boxes = sequence.frames, sequence.boxes
    steps = [("add", "a", 0), ("add", "b", 0), ("track",), ("track",), ("remove", "a"), ("track",),
             ("add", "a", 3), ("track",), ("add", "c", 4), ("track",), ("track",)]
    frame = 0
    for step in steps:
        outputs = []
        for tracker in trackers:
            if step[0] == "add":
                box = tuple(boxes[step[2]]) if step[1] != "b" else (10.0, 10.0, 30.0, 25.0)
                tracker.add(step[1], frames[step[2]], box)
            elif step[0] == "remove":
                tracker.remove(step[1])
            else:
                outputs.append({key: r.box for key, r in tracker.track(frames[frame + 1]).items()})
        if outputs:
            frame += 1
            assert set(outputs[0]) == set(outputs[1])
            for key in outputs[0]:
                np.testing.assert_allclose(outputs[1][key], outputs[0][key], rtol=0, atol=1e-3)  # pixels
