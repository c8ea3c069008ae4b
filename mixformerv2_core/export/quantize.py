"""INT8 weights for the CPU: dynamic quantization of the transformer's weight matmuls (per output channel).

Kept in fp32 on purpose: the patch embedding (first layer, sees raw pixels), the box and score heads (their
outputs are the box distributions and the confidence; small errors there move boxes directly), and the
attention products q@k / attn@v (both operands are activations; quantizing them costs accuracy for little
speed). Only ``MatMul`` nodes with a constant weight inside the transformer blocks become integer.
The template encoder stays fp32 as a whole: it runs once per template update, so INT8 would save nothing
per frame while its error would reach every frame through the cached keys/values.

Two recipes, chosen per CPU (``recipe_for_cpu``; ``cpu_features`` reads the instruction sets):

* ``dynamic-per-channel-w7`` (CPUs without VNNI): weights use 7 of the 8 bits (``reduce_range``). There
  ONNX Runtime multiplies uint8 activations by int8 weights with AVX2 instructions that add pairs of
  products into int16 with saturation; full-range weights overflow. With the first trained demo network that
  moved boxes by up to 0.034 (normalised crop units) and cut the easy-scene AUC from 0.48 to 0.36; 7-bit
  weights cannot overflow, cost no speed, and stay within 0.003 (docs/performance.md).
* ``dynamic-per-channel-w8`` (CPUs with VNNI): full 8-bit weights. VNNI adds four products straight into
  int32, so nothing overflows, and the extra bit halves the weight rounding error (measured on Zen 4: same
  speed, boxes of the demo network about half as far from fp32; docs/performance.md).

Static (calibrated) INT8 was measured slower and no more accurate with ONNX Runtime.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Optional, Union

import onnx

from ..cpu_features import CpuKind, detect_cpu
from ..errors import InputError
from ..models.mixformerv2 import MixFormerV2
from .onnx_export import ENCODER_FILE, SEARCH_FILE, ExportReport, compare_with_torch, read_manifest, write_manifest

FP32_SCOPES = ("/backbone/patch_embed/", "/box_head/", "/score_head/")
# Recipe name -> reduce_range (7-bit weights). Cached bundles made with another recipe are not reused.
INT8_RECIPES = {"dynamic-per-channel-w7": True, "dynamic-per-channel-w8": False}
SAFE_RECIPE = "dynamic-per-channel-w7"  # correct on every CPU
VNNI_RECIPE = "dynamic-per-channel-w8"


def recipe_for_cpu(kind: Optional[CpuKind] = None) -> str:
    """The INT8 recipe for a CPU kind (this CPU's when not given): full 8-bit weights only with VNNI."""
    kind = kind or detect_cpu()
    return VNNI_RECIPE if kind.vnni else SAFE_RECIPE


def resolve_recipe(recipe: Optional[str] = None) -> str:
    """``recipe`` checked, or this CPU's recipe when ``None`` / ``"auto"``."""
    if recipe in (None, "auto"):
        return recipe_for_cpu()
    if recipe not in INT8_RECIPES:
        raise InputError(f"unknown INT8 recipe {recipe!r}; choose one of {sorted(INT8_RECIPES)} or 'auto'")
    return recipe


def int8_candidates(model: onnx.ModelProto) -> tuple[list[str], list[str]]:
    """``(quantize, keep_fp32)`` MatMul node names under the policy above."""
    constants = {init.name for init in model.graph.initializer}
    constants |= {out for node in model.graph.node if node.op_type == "Constant" for out in node.output}
    quantize, keep = [], []
    for node in model.graph.node:
        if node.op_type != "MatMul":
            continue
        has_weight = any(name in constants for name in node.input)
        sensitive = any(scope in node.name for scope in FP32_SCOPES)
        (quantize if has_weight and not sensitive else keep).append(node.name)
    return quantize, keep


def quantize_graph_int8(source: Union[str, Path], target: Union[str, Path],
                        recipe: str = SAFE_RECIPE) -> dict[str, int]:
    """Write an INT8 copy of one graph; returns how many matmuls were quantized / kept in fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    quantize, keep = int8_candidates(model)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer advises shape pre-processing, which changes nothing here
    try:
        quantize_dynamic(str(source), str(target), per_channel=True, reduce_range=INT8_RECIPES[recipe], weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"], nodes_to_quantize=quantize, nodes_to_exclude=keep)
    finally:
        root.setLevel(level)
    return {"quantized_matmuls": len(quantize), "fp32_matmuls": len(keep)}


def export_int8_bundle(model: MixFormerV2, fp32_dir: Union[str, Path], int8_dir: Union[str, Path],
                       check_batches: tuple = (1, 3), recipe: Optional[str] = None) -> ExportReport:
    """INT8 bundle from an fp32 bundle with ``recipe`` (default: this CPU's); its manifest records the recipe,
    the CPU kind it was made on and the max abs difference to fp32 PyTorch.

    No tolerance is enforced here: the accuracy cost is judged on tracked boxes (see docs/performance.md).
    """
    recipe = resolve_recipe(recipe)
    fp32_dir, int8_dir = Path(fp32_dir), Path(int8_dir)
    read_manifest(fp32_dir)
    int8_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fp32_dir / ENCODER_FILE, int8_dir / ENCODER_FILE)
    counts = {SEARCH_FILE: quantize_graph_int8(fp32_dir / SEARCH_FILE, int8_dir / SEARCH_FILE, recipe)}
    report = ExportReport(directory=str(int8_dir), opset=read_manifest(fp32_dir)["report"]["opset"], precision="int8")
    if check_batches:
        report.max_abs_diff = compare_with_torch(model.float().eval(), int8_dir, check_batches)
        report.checked_batches = list(check_batches)
    write_manifest(int8_dir, model.config, report, {"int8": counts, "int8_recipe": recipe,
                                                        "cpu_kind": detect_cpu().name})
    return report
