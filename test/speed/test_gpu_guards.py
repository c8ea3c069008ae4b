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
