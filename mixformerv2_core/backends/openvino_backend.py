"""OpenVINO backend: the same two exported graphs as the ONNX Runtime backend, run by OpenVINO's CPU plugin.

``fp32`` reads the fp32 ONNX bundle as it is (inference precision pinned to f32: on CPUs with native bf16
OpenVINO would otherwise silently compute in bf16); ``int8`` runs the search step quantized by NNCF
(``export.openvino_int8``), cached next to the ONNX bundles. The search step is compiled once per batch size
with static shapes (about 10% faster than dynamic shapes on the S step), which costs a compilation (about
0.5-1 s for S) the first time a batch size occurs, e.g. when a lost target's wide search first adds windows;
``static_shapes=False`` compiles one dynamic-batch model up front instead. OpenVINO is imported only when a
backend is created (``requirements/openvino.txt``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Hashable, Optional, Sequence, Union

import numpy as np

from ..checkpoint import LoadedCheckpoint
from ..config import ModelConfig
from ..export.onnx_export import read_manifest
from .base import InferenceOutput
from .bundle_cache import cached_bundle
from .onnx_backend import ensure_bundle
from .template_store import KeepsTemplates, TemplateStore, encoder_feed, write_kv_slot

OV_PRECISIONS = {None: "fp32", "fp32": "fp32", "float32": "fp32", "int8": "int8"}


def resolve_openvino_precision(precision: Optional[str]) -> str:
    key = precision.lower() if isinstance(precision, str) else precision
    if key not in OV_PRECISIONS:
        raise ValueError(f"the OpenVINO backend offers precisions fp32 and int8, not {precision!r}")
    return OV_PRECISIONS[key]


INFERENCE_PRECISIONS = ("f32", "bf16")


def compile_options(threads: Optional[int], inference_precision: str = "f32") -> dict[str, Any]:
    """One stream, latency hint, ``threads`` inference threads, not pinned to cores (on a robot the tracker
    shares its cores: a pinned thread waits for its busy core instead of moving to a free one); the layers
    that are not INT8 compute in ``inference_precision`` (f32 by default).
    """
    if inference_precision not in INFERENCE_PRECISIONS:
        raise ValueError(f"OpenVINO inference precision must be one of {INFERENCE_PRECISIONS}, not {inference_precision!r}")
    return {"INFERENCE_NUM_THREADS": int(threads) if threads else (os.cpu_count() or 1),
            "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": inference_precision,
            "ENABLE_CPU_PINNING": False}


class OpenVinoBackend(KeepsTemplates):
    """Keeps each target's template keys/values and runs one batched search step per frame (like
    ``OnnxBackend``); one compiled search step and infer request per batch size.
    """

    def __init__(self, bundle_dir: Union[str, Path], threads: Optional[int] = None,
                 inference_precision: str = "f32", static_shapes: bool = True) -> None:
        from ..export.openvino_int8 import require_openvino

        ov = require_openvino()
        bundle_dir = Path(bundle_dir)
        manifest = read_manifest(bundle_dir)
        self.config = ModelConfig.from_dict(manifest["config"])
        self.crop_spec = self.config.crop_spec
        self.bundle_dir = bundle_dir
        self.precision = manifest.get("report", {}).get("precision", "fp32")
        self._core = ov.Core()
        self._options = compile_options(threads, inference_precision)
        self._search_model = self._core.read_model(str(bundle_dir / manifest["search_step"]))
        encoder = self._core.read_model(str(bundle_dir / manifest["encoder"]))
        t = self.config.template_size
        encoder.reshape({"template": [1, 3, t, t], "online_template": [1, 3, t, t]})
        self._encoder = self._compile(encoder)
        self._requests: dict[int, Any] = {}
        self._any_batch = None if static_shapes else self._compile(self._search_model)
        self._templates: TemplateStore[np.ndarray, np.ndarray] = TemplateStore(
            lambda entries: np.ascontiguousarray(np.concatenate(entries, axis=2)), write_kv_slot)

    def _compile(self, model: Any) -> Any:
        return self._core.compile_model(model, "CPU", self._options).create_infer_request()

    def _request(self, batch: int, kv_shape: tuple) -> Any:
        if self._any_batch is not None:
            return self._any_batch
        request = self._requests.get(batch)
        if request is None:
            s = self.config.search_size
            model = self._search_model.clone()
            model.reshape({"search": [batch, 3, s, s], "template_kv": list(kv_shape)})
            request = self._requests[batch] = self._compile(model)
        return request

    def set_templates(self, key: Hashable, template: np.ndarray, online_template: np.ndarray) -> None:
        feed = encoder_feed(template, online_template)
        self._encoder.infer(feed)
        self._templates.set(key, self._encoder.get_output_tensor(0).data.copy())

    def infer(self, keys: Sequence[Hashable], search: np.ndarray) -> InferenceOutput:
        kv = self._templates.batched(keys)
        search = np.ascontiguousarray(search, dtype=np.float32)
        if search.ndim != 4 or search.shape[0] != len(keys):
            raise ValueError(f"search must be ({len(keys)}, 3, H, W), got {search.shape}")
        request = self._request(len(keys), kv.shape)
        request.infer({"search": search, "template_kv": kv}, share_inputs=True)
        return InferenceOutput(pred_boxes=request.get_output_tensor(0).data.copy(),
                               score_logits=request.get_output_tensor(2).data.copy())


def openvino_bundle(checkpoint: LoadedCheckpoint, precision: str, cache_dir: Optional[str] = None) -> Path:
    """fp32: the ONNX Runtime backend's fp32 bundle; int8: the NNCF-quantized one (cached alike)."""
    if precision == "fp32":
        return ensure_bundle(checkpoint, "fp32", cache_dir)
    from ..export.openvino_int8 import OPENVINO_INT8_RECIPE, export_openvino_int8_bundle
    from ..tracker import resolve_params

    params = resolve_params(checkpoint.config, None, checkpoint.tracker_defaults)
    return cached_bundle(checkpoint, f"openvino-int8-{OPENVINO_INT8_RECIPE}",
                         lambda model, fp32_dir, staging: export_openvino_int8_bundle(model, fp32_dir, staging, params),
                         cache_dir)


def openvino_factory(checkpoint: LoadedCheckpoint, device: str = "cpu", precision: Optional[str] = None,
                     threads: Optional[int] = None, bundle_dir: Optional[str] = None, cache_dir: Optional[str] = None,
                     inference_precision: str = "f32", static_shapes: bool = True, **_: Any) -> OpenVinoBackend:
    """Backend factory for the registry (CPU only; ``use_cache`` has no effect: the graphs are the cached path)."""
    if str(device) != "cpu":
        raise ValueError(f"the OpenVINO backend runs on device 'cpu', not {device!r}")
    precision = resolve_openvino_precision(precision)
    if bundle_dir is None:
        bundle_dir = openvino_bundle(checkpoint, precision, cache_dir)
    backend = OpenVinoBackend(bundle_dir, threads=threads, inference_precision=inference_precision,
                              static_shapes=static_shapes)
    if backend.config != checkpoint.config:
        raise ValueError(f"bundle {bundle_dir} was exported for a different network than the checkpoint")
    if backend.precision != precision:
        raise ValueError(f"bundle {bundle_dir} holds {backend.precision} graphs, {precision} was requested")
    return backend


def openvino_int8_factory(checkpoint: LoadedCheckpoint, precision: Optional[str] = None,
                          **options: Any) -> OpenVinoBackend:
    if precision not in (None, "int8"):
        raise ValueError(f"backend 'openvino-int8' runs int8 only, not {precision!r}")
    return openvino_factory(checkpoint, precision="int8", **options)


__all__ = ["OpenVinoBackend", "compile_options", "openvino_bundle", "openvino_factory", "openvino_int8_factory",
           "resolve_openvino_precision"]
