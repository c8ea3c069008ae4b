"""INT8 for OpenVINO: the fp32 search-step graph quantized by NNCF's post-training quantization.

OpenVINO runs INT8 from quantize/dequantize pairs that a calibration pass places around the weight matmuls
(per-channel int8 weights, per-tensor activation scales measured on sample inputs); its CPU plugin then runs
those matmuls with VNNI (or AMX) integer instructions. ONNX Runtime's dynamically quantized graphs do not help
here: OpenVINO reads them but runs them about 3x slower than its own INT8 (measured on Zen 4).

Calibration inputs are the crops the tracker would see on generated scenes (``calibration_inputs``), with
the template keys/values of the scene's first frame. Unlike the ONNX Runtime recipe, the attention products
(q@k, attn@v) and the patch embedding run in INT8 too: OpenVINO fuses the attention into one INT8 kernel, and
the INT8 patch embedding saved about 4% of the search step on Zen 4 while the demo network's AUC stayed within
0.01 of fp32 (docs/performance.md). The box and score heads stay fp32; the template encoder stays fp32 as a
whole (it runs once per template update).
"""
from __future__ import annotations

import contextlib
import io
import logging
import shutil
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch

from ..cpu_features import detect_cpu
from ..errors import MissingDependencyError
from ..models.mixformerv2 import MixFormerV2
from ..preprocessing import crop_and_normalize
from ..synthetic import generate_sequence
from ..tracker import TrackerParams, resolve_params
from .onnx_export import ENCODER_FILE, SEARCH_FILE, ExportReport, compare_with_torch, read_manifest, write_manifest

OPENVINO_INT8_RECIPE = "nncf-static-ptq-pe8"  # the name changes whenever what it quantizes does
OPENVINO_SEARCH_FILE = "search_step.xml"
FP32_PATTERNS = (".*box_head.*", ".*score_head.*")
CALIBRATION_SEED = 200  # generated scenes from this seed (the accuracy checks use held-out seeds from 100000)


def require_openvino():
    try:
        import openvino
    except ImportError as error:
        raise MissingDependencyError(f"the OpenVINO backend needs openvino ({error}); "
                                     "pip install -r requirements/openvino.txt") from None
    return openvino


def calibration_inputs(model: MixFormerV2, params: Optional[TrackerParams] = None, sequences: int = 6,
                       frames: int = 9, seed: int = CALIBRATION_SEED) -> list[dict[str, np.ndarray]]:
    """Search crops (box jittered like a tracker's previous estimate) with the first frame's template
    keys/values, one batch-1 feed per crop.
    """
    params = params or resolve_params(model.config)
    config = model.config
    rng = np.random.default_rng(seed)
    feeds = []
    for index in range(sequences):
        sequence = generate_sequence(seed=seed + index, num_frames=frames)
        template, _ = crop_and_normalize(sequence.frames[0], sequence.boxes[0], params.template_factor,
                                         config.template_size, params.color_order)
        with torch.no_grad():
            tensor = torch.from_numpy(template)[None]
            kv = model.eval().backbone.encode_templates(tensor, tensor).numpy()
        for (x, y, w, h), frame in zip(sequence.boxes[1:], sequence.frames[1:]):
            dx, dy = rng.normal(0.0, 0.3, 2)
            crop, _ = crop_and_normalize(frame, (x + dx * w, y + dy * h, w, h), params.search_factor,
                                         config.search_size, params.color_order)
            feeds.append({"search": crop[None], "template_kv": kv})
    return feeds


def export_openvino_int8_bundle(model: MixFormerV2, fp32_dir: Union[str, Path], out_dir: Union[str, Path],
                                params: Optional[TrackerParams] = None, check_batches: tuple = (1, 3)) -> ExportReport:
    """OpenVINO INT8 bundle (fp32 ONNX encoder, INT8 OpenVINO IR search step) from an fp32 ONNX bundle; its
    manifest records the max abs difference to fp32 PyTorch (judged against bounds by the tests).
    """
    ov = require_openvino()
    try:
        import nncf
    except ImportError as error:
        raise MissingDependencyError(f"OpenVINO INT8 export needs nncf ({error}); "
                                     "pip install -r requirements/openvino.txt") from None
    fp32_dir, out_dir = Path(fp32_dir), Path(out_dir)
    manifest = read_manifest(fp32_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fp32_dir / ENCODER_FILE, out_dir / ENCODER_FILE)
    source = ov.Core().read_model(str(fp32_dir / SEARCH_FILE))
    nncf_logger = logging.getLogger("nncf")
    level = nncf_logger.level
    nncf_logger.setLevel(logging.ERROR)  # statistics tables on every export
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # and progress bars
            quantized = nncf.quantize(source, nncf.Dataset(calibration_inputs(model, params)),
                                      model_type=nncf.ModelType.TRANSFORMER, subset_size=300,
                                      ignored_scope=nncf.IgnoredScope(patterns=list(FP32_PATTERNS), validate=False))
    finally:
        nncf_logger.setLevel(level)
    ov.save_model(quantized, str(out_dir / OPENVINO_SEARCH_FILE))
    report = ExportReport(directory=str(out_dir), opset=manifest["report"]["opset"], precision="int8")
    if check_batches:
        report.max_abs_diff = compare_with_torch(model.float().eval(), out_dir, check_batches,
                                                 search_file=OPENVINO_SEARCH_FILE, runtime="openvino")
        report.checked_batches = list(check_batches)
    write_manifest(out_dir, model.config, report,
                   {"runtime": "openvino", "int8_recipe": OPENVINO_INT8_RECIPE, "cpu_kind": detect_cpu().name},
                   search_file=OPENVINO_SEARCH_FILE)
    return report


__all__ = ["OPENVINO_INT8_RECIPE", "OPENVINO_SEARCH_FILE", "calibration_inputs", "export_openvino_int8_bundle",
           "require_openvino"]
