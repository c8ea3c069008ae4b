"""ONNX Runtime backend: the template encoder runs once per template update, the search step every frame.

Bundles come from ``mixformerv2-export`` (or are exported on first use into a cache directory keyed by the
weights' digest). Precisions: ``fp32`` (default) and ``int8`` (dynamic, per-channel weights; see
``export.quantize``). CPU by default with an explicit thread count; CUDA / TensorRT providers when the
installed onnxruntime offers them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Hashable, Optional, Sequence, Union

import numpy as np

from ..checkpoint import LoadedCheckpoint
from ..config import ModelConfig
from ..export.onnx_export import read_manifest
from ..export.runtime import make_session
from .base import InferenceOutput
from .bundle_cache import CACHE_ENV, FP32_BUNDLE, cached_bundle, default_cache_root, weights_digest
from .template_store import KeepsTemplates, TemplateStore, encoder_feed, write_kv_slot

PRECISIONS = {None: "fp32", "fp32": "fp32", "float32": "fp32", "int8": "int8"}


def resolve_onnx_precision(precision: Optional[str]) -> str:
    key = precision.lower() if isinstance(precision, str) else precision
    if key not in PRECISIONS:
        hint = " (bfloat16/float16 on CPU: use backend 'torch' with that precision)" if key in (
            "bf16", "bfloat16", "fp16", "float16") else ""
        raise ValueError(f"the ONNX backend offers precisions fp32 and int8, not {precision!r}{hint}")
    return PRECISIONS[key]


def _concat_kv(entries: list) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate(entries, axis=2))


class OnnxBackend(KeepsTemplates):
    """Keeps each target's template keys/values (``(depth, 2, 1, heads, Nt, head_dim)`` float32) and runs
    one batched search step per frame; the batch of cached keys/values is rebuilt only when the set of
    targets changes.
    """

    def __init__(self, bundle_dir: Union[str, Path], device: str = "cpu", threads: Optional[int] = None,
                 providers: Optional[Sequence] = None, spinning: bool = False) -> None:
        bundle_dir = Path(bundle_dir)
        manifest = read_manifest(bundle_dir)
        runtime = manifest.get("meta", {}).get("runtime", "onnxruntime")
        if runtime != "onnxruntime":
            raise ValueError(f"bundle {bundle_dir} was made for {runtime}, not ONNX Runtime (use backend {runtime!r})")
        self.config = ModelConfig.from_dict(manifest["config"])
        self.crop_spec = self.config.crop_spec
        self.bundle_dir = bundle_dir
        self.precision = manifest.get("report", {}).get("precision", "fp32")
        self._encoder = make_session(bundle_dir / manifest["encoder"], device, threads, providers, spinning)
        self._search = make_session(bundle_dir / manifest["search_step"], device, threads, providers, spinning)
        self.providers = self._search.get_providers()
        self._templates: TemplateStore[np.ndarray, np.ndarray] = TemplateStore(_concat_kv, write_kv_slot)

    def set_templates(self, key: Hashable, template: np.ndarray, online_template: np.ndarray) -> None:
        feed = encoder_feed(template, online_template)
        self._templates.set(key, self._encoder.run(None, feed)[0])

    def infer(self, keys: Sequence[Hashable], search: np.ndarray) -> InferenceOutput:
        kv = self._templates.batched(keys)
        boxes, _, scores = self._search.run(None, {"search": np.ascontiguousarray(search, dtype=np.float32),
                                                   "template_kv": kv})
        return InferenceOutput(pred_boxes=boxes, score_logits=scores)


# ------------------------------------------------------------------------------------------ bundle cache


def cache_name(precision: str, recipe: Optional[str] = None) -> str:
    """Cache sub-directory of one precision. INT8 names its quantization recipe (default: this CPU's), so that
    bundles quantized another way (e.g. full-range weights, which overflow on CPUs without VNNI) are not
    reused; the recipe is what the CPU kind changes in the files.
    """
    from ..export.quantize import resolve_recipe

    return f"int8-{resolve_recipe(recipe)}" if precision == "int8" else precision


def ensure_bundle(checkpoint: LoadedCheckpoint, precision: str = "fp32",
                  cache_root: Optional[Union[str, Path]] = None, recipe: Optional[str] = None) -> Path:
    """The cached bundle for these weights and precision (INT8: ``recipe``, default this CPU's), exporting
    (and checking) it on first use.
    """
    from ..export.onnx_export import export_bundle
    from ..export.quantize import export_int8_bundle, resolve_recipe

    if precision == "fp32":
        return cached_bundle(checkpoint, FP32_BUNDLE, lambda model, _, staging: export_bundle(model, staging),
                             cache_root)
    recipe = resolve_recipe(recipe)
    return cached_bundle(checkpoint, cache_name(precision, recipe),
                         lambda model, fp32_dir, staging: export_int8_bundle(model, fp32_dir, staging, recipe=recipe),
                         cache_root)


def onnx_factory(checkpoint: LoadedCheckpoint, device: str = "cpu", precision: Optional[str] = None,
                 use_cache: bool = True, threads: Optional[int] = None, bundle_dir: Optional[str] = None,
                 cache_dir: Optional[str] = None, providers: Optional[Sequence] = None, spinning: bool = False,
                 int8_recipe: Optional[str] = None, **_: Any) -> OnnxBackend:
    """Backend factory for the registry. The ONNX graphs always run the cached path (equal to the full
    forward), so ``use_cache`` has no effect here. ``int8_recipe``: see ``export.quantize`` (default: the
    one this CPU wants).
    """
    precision = resolve_onnx_precision(precision)
    if bundle_dir is None:
        bundle_dir = ensure_bundle(checkpoint, precision, cache_dir, int8_recipe)
    backend = OnnxBackend(bundle_dir, device=str(device), threads=threads, providers=providers, spinning=spinning)
    if backend.config != checkpoint.config:
        raise ValueError(f"ONNX bundle {bundle_dir} was exported for a different network than the checkpoint")
    if backend.precision != precision:
        raise ValueError(f"ONNX bundle {bundle_dir} holds {backend.precision} graphs, {precision} was requested")
    return backend


def onnx_int8_factory(checkpoint: LoadedCheckpoint, precision: Optional[str] = None, **options: Any) -> OnnxBackend:
    if precision not in (None, "int8"):
        raise ValueError(f"backend 'onnx-int8' runs int8 only, not {precision!r}")
    return onnx_factory(checkpoint, precision="int8", **options)


__all__ = ["CACHE_ENV", "OnnxBackend", "cache_name", "default_cache_root", "ensure_bundle", "onnx_factory",
           "onnx_int8_factory", "resolve_onnx_precision", "weights_digest"]
