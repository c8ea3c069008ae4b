"""The exported graphs reproduce PyTorch (fp32 within 1e-4) for tiny, S and B at batch 1 and 3, and the
INT8 graphs stay within their stated bound (random S network on fixed inputs; trained demo network on scene crops).
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from mixformerv2_core import ModelConfig, build_model, read_checkpoint, resolve_params
from mixformerv2_core.checkpoint import model_from_checkpoint
from mixformerv2_core.cli.track import DEMO_WEIGHTS
from mixformerv2_core.export import ENCODER_FILE, FP32_TOLERANCE, MIN_OPSET, SEARCH_FILE, export_bundle, read_manifest
from mixformerv2_core.export.quantize import export_int8_bundle, int8_candidates, recipe_for_cpu
from mixformerv2_core.export.runtime import cpu_session
from mixformerv2_core.preprocessing import crop_and_normalize
from mixformerv2_core.synthetic import generate_sequence

# Stated INT8 bound on the fixed inputs of export.example_inputs (normalised crop units / logits).
INT8_BOX_BOUND = 0.01
INT8_SCORE_BOUND = 0.1


def _export_and_check(model, directory):
    report = export_bundle(model, directory, check_batches=(1, 3))
    assert report.checked_batches == [1, 3]
    assert set(report.max_abs_diff) == {"pred_boxes", "bin_probs", "score_logits", "template_kv"}
    assert report.worst <= FP32_TOLERANCE, report.summary()
    return report


def test_tiny_graphs_match_pytorch_and_declare_dynamic_batch(tiny_model, tmp_path):
    _export_and_check(tiny_model, tmp_path)
    manifest = read_manifest(tmp_path)
    assert ModelConfig.from_dict(manifest["config"]) == tiny_model.config
    for name in ("template_encoder.onnx", "search_step.onnx"):
        graph = onnx.load(str(tmp_path / name))
        assert max(op.version for op in graph.opset_import if op.domain in ("", "ai.onnx")) >= MIN_OPSET
        first_input = graph.graph.input[0].type.tensor_type.shape.dim[0]
        assert first_input.dim_param == "batch"


def test_model_without_score_head_exports_infinite_logits(tmp_path):
    torch.manual_seed(1)
    model = build_model(ModelConfig.tiny(score_head=False, depth=1)).eval()
    report = _export_and_check(model, tmp_path)
    assert report.max_abs_diff["score_logits"] == 0.0


def test_export_refuses_old_opsets(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="opset"):
        export_bundle(tiny_model, tmp_path, opset=16)


def test_small_graphs_match_pytorch(small_bundles):
    _, _, fp32, _ = small_bundles
    assert fp32.worst <= FP32_TOLERANCE


def test_small_int8_stays_within_bound(small_bundles):
    _, root, _, int8 = small_bundles
    assert int8.precision == "int8"
    assert int8.max_abs_diff["template_kv"] <= FP32_TOLERANCE  # the encoder stays fp32
    assert int8.max_abs_diff["pred_boxes"] <= INT8_BOX_BOUND, int8.summary()
    assert int8.max_abs_diff["score_logits"] <= INT8_SCORE_BOUND, int8.summary()
    graph = onnx.load(str(root / "int8" / "search_step.onnx"))
    ops = {node.op_type for node in graph.graph.node}
    assert ops & {"DynamicQuantizeMatMul", "MatMulInteger", "DynamicQuantizeLinear"}


def test_int8_policy_keeps_heads_and_attention_products_fp32(small_bundles):
    _, root, _, _ = small_bundles
    quantized, kept = int8_candidates(onnx.load(str(root / "fp32" / "search_step.onnx")))
    depth = 4
    assert len(quantized) == 4 * (depth - 1) + 5  # qkv, proj, fc1, fc2 per block; the last block splits q and kv
    assert all("head" not in name for name in quantized)
    assert any("/box_head/" in name for name in kept) and any("/score_head/" in name for name in kept)


def test_base_graphs_match_pytorch(tmp_path):
    torch.manual_seed(0)
    _export_and_check(build_model("B").eval(), tmp_path)


def _scene_inputs(checkpoint, encoder, frames: int = 9, seed: int = 100_000) -> dict:
    """Template keys/values and a batch of jittered search crops from one generated scene (the crops the
    tracker would see), the way the network meets real images.
    """
    params = resolve_params(checkpoint.config, None, checkpoint.tracker_defaults)
    config = checkpoint.config
    sequence = generate_sequence(seed=seed, num_frames=frames)
    template, _ = crop_and_normalize(sequence.frames[0], sequence.boxes[0], params.template_factor,
                                     config.template_size)
    kv = encoder.run(None, {"template": template[None], "online_template": template[None]})[0]
    shifts = np.random.default_rng(seed).normal(0.0, 0.3, (frames - 1, 2))
    crops = []
    for (x, y, w, h), (dx, dy), frame in zip(sequence.boxes[1:], shifts, sequence.frames[1:]):
        crop, _ = crop_and_normalize(frame, (x + dx * w, y + dy * h, w, h), params.search_factor, config.search_size)
        crops.append(crop)
    return {"search": np.stack(crops), "template_kv": np.ascontiguousarray(np.repeat(kv, len(crops), axis=2))}


def test_trained_int8_stays_within_bound_on_scene_crops(tmp_path):
    """The trained demo network on crops of a generated scene must stay within the stated bound. (Full-range
    int8 weights overflow the int16 pair sums of ONNX Runtime's AVX2 kernels on CPUs without VNNI: they moved the
    first demo network's boxes by up to 0.034; the current demo gives 0.0062 with them, 0.0046 with 7 bits.)
    """
    checkpoint = read_checkpoint(DEMO_WEIGHTS)
    model = model_from_checkpoint(checkpoint)
    export_bundle(model, tmp_path / "fp32", check_batches=())
    export_int8_bundle(model, tmp_path / "fp32", tmp_path / "int8", check_batches=())
    assert read_manifest(tmp_path / "int8")["meta"]["int8_recipe"] == recipe_for_cpu()
    feed = _scene_inputs(checkpoint, cpu_session(tmp_path / "fp32" / ENCODER_FILE))
    fp32 = cpu_session(tmp_path / "fp32" / SEARCH_FILE).run(None, feed)
    int8 = cpu_session(tmp_path / "int8" / SEARCH_FILE).run(None, feed)
    assert np.abs(int8[0] - fp32[0]).max() <= INT8_BOX_BOUND
    assert np.abs(int8[2] - fp32[2]).max() <= INT8_SCORE_BOUND
