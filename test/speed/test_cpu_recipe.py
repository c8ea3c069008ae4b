"""The CPU kind is read from the instruction-set flags (faked here through MIXFORMERV2_CPU_FLAGS) and picks the
INT8 recipe; cached INT8 bundles are keyed by recipe, so a bundle of another recipe is never reused; and on the
CPU at hand ONNX Runtime's integer kernels behave the way the chosen recipe assumes.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mixformerv2_core import read_checkpoint
from mixformerv2_core.backends import create_backend
from mixformerv2_core.cpu_features import FLAGS_ENV, classify, detect_cpu, parse_flags, read_flags
from mixformerv2_core.errors import InputError
from mixformerv2_core.export import read_manifest
from mixformerv2_core.export.quantize import INT8_RECIPES, SAFE_RECIPE, VNNI_RECIPE, recipe_for_cpu, resolve_recipe

ZEN4 = "fpu sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni avx512vbmi"
ZEN3 = "fpu sse2 avx avx2 fma bmi2 sha_ni vaes"
SKYLAKE_X = "fpu sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl"
ALDER_LAKE = "fpu sse2 avx avx2 fma avx_vnni"
SAPPHIRE_RAPIDS = ZEN4 + " amx_bf16 amx_tile amx_int8"


@pytest.mark.parametrize("flags, kind, recipe, bf16, amx", [
    (ZEN4, "vnni", VNNI_RECIPE, True, False),
    (ZEN3, "avx2", SAFE_RECIPE, False, False),
    (SKYLAKE_X, "avx512", SAFE_RECIPE, False, False),  # AVX-512 without VNNI still sums pairs into int16
    (ALDER_LAKE, "vnni", VNNI_RECIPE, False, False),
    (SAPPHIRE_RAPIDS, "vnni", VNNI_RECIPE, True, True),
    ("", "generic", SAFE_RECIPE, False, False),
])
def test_flags_pick_the_kind_and_recipe(monkeypatch, flags, kind, recipe, bf16, amx):
    monkeypatch.setenv(FLAGS_ENV, flags.replace(" ", ","))  # commas or spaces
    cpu = detect_cpu()
    assert (cpu.name, cpu.bf16, cpu.amx) == (kind, bf16, amx)
    assert recipe_for_cpu() == recipe == resolve_recipe("auto") == resolve_recipe(None)


def test_flags_come_from_cpuinfo_without_the_override(monkeypatch, tmp_path):
    monkeypatch.delenv(FLAGS_ENV, raising=False)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: {ZEN3}\n\nprocessor\t: 1\nflags\t\t: {ZEN3}\n")
    assert read_flags(cpuinfo) == parse_flags(cpuinfo.read_text()) == frozenset(ZEN3.split())
    assert classify(read_flags(cpuinfo)).name == "avx2"
    assert read_flags(tmp_path / "missing") == frozenset()


def test_unknown_recipe_is_refused():
    with pytest.raises(InputError, match="recipe"):
        resolve_recipe("int4")


def test_int8_bundles_are_keyed_by_recipe_and_not_reused_across_recipes(monkeypatch, tiny_checkpoint, onnx_cache):
    checkpoint = read_checkpoint(tiny_checkpoint)
    bundles = {}
    for flags, recipe in ((ZEN3, SAFE_RECIPE), (ZEN4, VNNI_RECIPE)):
        monkeypatch.setenv(FLAGS_ENV, flags)
        backend = create_backend("onnx-int8", checkpoint, cache_dir=str(onnx_cache), threads=1)
        meta = read_manifest(backend.bundle_dir)["meta"]
        assert meta["int8_recipe"] == recipe and backend.bundle_dir.name == f"int8-{recipe}"
        bundles[recipe] = backend.bundle_dir
    assert bundles[SAFE_RECIPE] != bundles[VNNI_RECIPE]
    # asked for explicitly, whatever the CPU
    explicit = create_backend("onnx-int8", checkpoint, cache_dir=str(onnx_cache), threads=1, int8_recipe=SAFE_RECIPE)
    assert explicit.bundle_dir == bundles[SAFE_RECIPE]


def _one_matmul(path, weight: np.ndarray) -> None:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")], "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, weight.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, weight.shape[1]])],
        [numpy_helper.from_array(weight, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


@pytest.mark.parametrize("recipe", sorted(INT8_RECIPES))
def test_this_cpu_runs_its_recipe_without_overflow(tmp_path, recipe):
    """Activations at the top of the uint8 range times weights at the top of the int8 range: a pair of such
    products (2 x 255 x 127) does not fit int16, so kernels that add pairs into int16 (AVX2 without VNNI) would
    saturate with full-range weights. The recipe chosen for this CPU must give the exact sum; with VNNI both do.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from mixformerv2_core.export.runtime import cpu_session

    weight = np.ones((64, 8), np.float32)
    _one_matmul(tmp_path / "fp32.onnx", weight)
    quantize_dynamic(str(tmp_path / "fp32.onnx"), str(tmp_path / "int8.onnx"), per_channel=True,
                     reduce_range=INT8_RECIPES[recipe], weight_type=QuantType.QInt8)
    x = np.ones((1, 64), np.float32)
    y = cpu_session(tmp_path / "int8.onnx", threads=1).run(None, {"x": x})[0]
    exact = np.allclose(y, x @ weight, rtol=0.02)
    cpu = detect_cpu()
    if recipe == recipe_for_cpu(cpu) or recipe == SAFE_RECIPE or cpu.vnni:
        assert exact, f"{recipe} on a {cpu.describe()} CPU: {y[0, :3]} instead of 64"
