"""Export the template encoder and the search step to ONNX and check them against PyTorch.

Files written into one directory (a "bundle"): ``template_encoder.onnx``, ``search_step.onnx`` and
``manifest.json`` (model config, opset, the measured differences, precision). The ONNX backend loads bundles.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch

from ..config import ModelConfig
from ..models.mixformerv2 import MixFormerV2
from .graphs import (ENCODER_INPUTS, ENCODER_OUTPUTS, SEARCH_INPUTS, SEARCH_OUTPUTS, SearchStepGraph,
                     TemplateEncoderGraph, example_inputs, reference_search_outputs)

ENCODER_FILE = "template_encoder.onnx"
SEARCH_FILE = "search_step.onnx"
MANIFEST_FILE = "manifest.json"
MIN_OPSET = 17
FP32_TOLERANCE = 1e-4


@dataclass
class ExportReport:
    """What was written and how closely ONNX Runtime reproduces PyTorch (max abs difference per output)."""

    directory: str
    opset: int
    precision: str = "fp32"
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    checked_batches: list[int] = field(default_factory=list)

    @property
    def worst(self) -> float:
        return max(self.max_abs_diff.values(), default=float("nan"))

    def summary(self) -> str:
        parts = ", ".join(f"{name} {value:.2e}" for name, value in self.max_abs_diff.items())
        return f"{self.precision} ONNX (opset {self.opset}) in {self.directory}; max |onnx - torch| over batches {self.checked_batches}: {parts}"


def _export_one(module: torch.nn.Module, args: tuple, path: Path, inputs: Sequence[str], outputs: Sequence[str],
                batch_axes: dict[str, int], opset: int) -> None:
    dynamic_axes = {name: {axis: "batch"} for name, axis in batch_axes.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation on every call
        torch.onnx.export(module, args, str(path), input_names=list(inputs), output_names=list(outputs),
                          dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True, dynamo=False)


def export_bundle(model: MixFormerV2, directory: Union[str, Path], opset: int = MIN_OPSET,
                  check_batches: Sequence[int] = (1, 3), tolerance: Optional[float] = FP32_TOLERANCE,
                  meta: Optional[dict[str, Any]] = None) -> ExportReport:
    """Write both graphs (dynamic batch) and compare them with PyTorch at every batch in ``check_batches``.

    Raises ``RuntimeError`` when ``tolerance`` is given and any output differs by more than it.
    """
    if opset < MIN_OPSET:
        raise ValueError(f"opset must be >= {MIN_OPSET}, got {opset}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = model.float().eval()
    sample = example_inputs(model, batch=2)
    with torch.no_grad():
        _export_one(TemplateEncoderGraph(model), (sample["template"], sample["online_template"]),
                    directory / ENCODER_FILE, ENCODER_INPUTS, ENCODER_OUTPUTS,
                    {"template": 0, "online_template": 0, "template_kv": 2}, opset)
        _export_one(SearchStepGraph(model), (sample["search"], sample["template_kv"]), directory / SEARCH_FILE,
                    SEARCH_INPUTS, SEARCH_OUTPUTS,
                    {"search": 0, "template_kv": 2, "pred_boxes": 0, "bin_probs": 0, "score_logits": 0}, opset)
    report = ExportReport(directory=str(directory), opset=opset)
    if check_batches:
        report.max_abs_diff = compare_with_torch(model, directory, check_batches)
        report.checked_batches = list(check_batches)
    write_manifest(directory, model.config, report, meta)
    if tolerance is not None and check_batches and not report.worst <= tolerance:
        raise RuntimeError(f"exported graphs disagree with PyTorch beyond {tolerance}: {report.summary()}")
    return report


def compare_with_torch(model: MixFormerV2, directory: Union[str, Path], batches: Sequence[int] = (1, 3),
                       encoder_file: str = ENCODER_FILE, search_file: str = SEARCH_FILE,
                       runtime: str = "onnxruntime") -> dict[str, float]:
    """Max abs difference of every graph output between the runtime (CPU; ``onnxruntime`` or ``openvino``,
    the latter computing in f32) and PyTorch over ``batches``.
    """
    directory = Path(directory)
    run_encoder, run_search = _graph_runners(directory / encoder_file, directory / search_file, runtime)
    worst: dict[str, float] = {}
    for batch in batches:
        sample = example_inputs(model, batch=batch, seed=batch)
        expected = dict(zip(SEARCH_OUTPUTS, reference_search_outputs(model, sample["search"], sample["template_kv"])))
        expected["template_kv"] = sample["template_kv"]
        got = dict(zip(SEARCH_OUTPUTS, run_search({name: sample[name].numpy() for name in SEARCH_INPUTS})))
        got["template_kv"] = run_encoder({name: sample[name].numpy() for name in ENCODER_INPUTS})[0]
        for name, value in got.items():
            reference = expected[name].numpy()
            finite = np.isfinite(reference)
            if not np.array_equal(finite, np.isfinite(value)):
                diff = float("inf")
            else:
                diff = float(np.max(np.abs(value[finite] - reference[finite]), initial=0.0))
            worst[name] = max(worst.get(name, 0.0), diff)
    return worst


def _graph_runners(encoder_path: Path, search_path: Path, runtime: str) -> tuple:
    """``feed dict -> list of outputs`` for both graphs on the CPU of ``runtime``."""
    if runtime == "onnxruntime":
        from .runtime import cpu_session

        sessions = [cpu_session(encoder_path), cpu_session(search_path)]
        return tuple(lambda feed, session=session: session.run(None, feed) for session in sessions)
    if runtime == "openvino":
        from .openvino_int8 import require_openvino

        core = require_openvino().Core()
        compiled = [core.compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
                    for path in (encoder_path, search_path)]
        return tuple(lambda feed, graph=graph: [graph(feed)[index] for index in range(len(graph.outputs))]
                     for graph in compiled)
    raise ValueError(f"unknown runtime {runtime!r}; use onnxruntime or openvino")


def write_manifest(directory: Path, config: ModelConfig, report: ExportReport, meta: Optional[dict] = None,
                   search_file: str = SEARCH_FILE) -> None:
    manifest = {
        "format": "mixformerv2_ros.onnx_bundle",
        "config": config.to_dict(),
        "encoder": ENCODER_FILE,
        "search_step": search_file,
        "report": asdict(report),
        "meta": dict(meta or {}),
    }
    (Path(directory) / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def read_manifest(directory: Union[str, Path]) -> dict[str, Any]:
    """The bundle's manifest; ``ValueError`` with the reason when the directory is not a bundle."""
    path = Path(directory) / MANIFEST_FILE
    if not path.is_file():
        raise ValueError(f"{directory} is not an ONNX bundle (no {MANIFEST_FILE}); create one with mixformerv2-export")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != "mixformerv2_ros.onnx_bundle":
        raise ValueError(f"{path} is not a MixFormerV2 ONNX bundle manifest")
    for key in ("encoder", "search_step"):
        if not (Path(directory) / manifest[key]).is_file():
            raise ValueError(f"ONNX bundle {directory} lacks {manifest[key]}")
    return manifest
