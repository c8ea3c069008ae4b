"""Exported bundles cached per network: ``<cache root>/<weights digest>/<bundle name>/``.

A bundle is exported (and checked) on first use, in a staging directory that is renamed into place only
when complete, so a crashed or concurrent export never leaves a half-written bundle that later runs load.
Bundle names say everything that changes the files (precision, INT8 recipe, runtime): a bundle made
another way is never reused.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional, Union

from ..checkpoint import LoadedCheckpoint, model_from_checkpoint
from ..models.mixformerv2 import MixFormerV2

CACHE_ENV = "MIXFORMERV2_CACHE"
MANIFEST = "manifest.json"
FP32_BUNDLE = "fp32"

# make(model, fp32_bundle_dir, staging_dir) writes the bundle into staging_dir
BundleMaker = Callable[[MixFormerV2, Path, Path], None]


def weights_digest(checkpoint: LoadedCheckpoint) -> str:
    """Identifies the weights and architecture (so a cached export is reused only for the same network)."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(json.dumps(checkpoint.config.to_dict(), sort_keys=True).encode())
    for name in sorted(checkpoint.state_dict):
        tensor = checkpoint.state_dict[name].detach().cpu().contiguous().float()
        digest.update(name.encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def default_cache_root() -> Path:
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "mixformerv2_ros" / "onnx"


def cached_bundle(checkpoint: LoadedCheckpoint, name: str, make: BundleMaker,
                  cache_root: Optional[Union[str, Path]] = None) -> Path:
    """The bundle ``name`` of these weights, made by ``make`` on first use from the (cached) fp32 bundle."""
    from ..export.onnx_export import export_bundle

    root = Path(cache_root) if cache_root else default_cache_root()
    base = root / weights_digest(checkpoint)
    target = base / name
    if (target / MANIFEST).is_file():
        return target
    base.mkdir(parents=True, exist_ok=True)
    model = model_from_checkpoint(checkpoint)
    fp32_dir = base / FP32_BUNDLE
    if name != FP32_BUNDLE and not (fp32_dir / MANIFEST).is_file():
        cached_bundle(checkpoint, FP32_BUNDLE, lambda m, _, staging: export_bundle(m, staging), root)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=base))
    try:
        make(model, fp32_dir, staging)
        if not target.exists():
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


__all__ = ["CACHE_ENV", "FP32_BUNDLE", "cached_bundle", "default_cache_root", "weights_digest"]
