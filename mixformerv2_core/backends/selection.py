"""Which backend options go together: checked once, where a tracker description is made (``TrackerSpec``).

Every command (``mixformerv2-track``, ``-eval``, offline ``-replay``) builds its tracker from a ``TrackerSpec``,
so a combination that cannot work fails the same way everywhere, before any frame is read:

- a bundle folder is read only by the backends that run ``mixformerv2-export``'s graphs; it may be the
  folder the export wrote (``fp32``/``int8`` inside) or one of those two folders;
- the full forward every frame (``use_cache=False``) exists only for the PyTorch network: exported graphs
  are the cached path, which equals it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from ..errors import InputError
from .bundle_cache import MANIFEST

#: Backends that run a ``mixformerv2-export`` bundle -> the folder inside the export's output they read.
BUNDLE_BACKENDS = {"onnx": "fp32", "onnx-int8": "int8", "openvino": "fp32"}
#: Backends that can run the official full forward every frame instead of the cached template path.
FULL_FORWARD_BACKENDS = ("torch",)


def is_bundle_folder(path: Union[str, Path]) -> bool:
    """Whether ``path`` is a bundle, or the folder ``mixformerv2-export`` wrote its bundles into."""
    return any((Path(path) / inner / MANIFEST).is_file() for inner in ("", *sorted(set(BUNDLE_BACKENDS.values()))))


def resolve_bundle(bundle: Union[str, Path], backend: str, precision: Optional[str] = None) -> Path:
    """The bundle folder itself, or the ``fp32``/``int8`` folder that ``mixformerv2-export`` wrote inside it."""
    bundle = Path(bundle)
    if not bundle.is_dir():
        raise InputError(f"ONNX bundle {bundle} not found (give the folder mixformerv2-export wrote)")
    if (bundle / MANIFEST).is_file():
        return bundle
    inner = bundle / ("int8" if str(precision).lower() == "int8" else BUNDLE_BACKENDS.get(backend, "fp32"))
    if (inner / MANIFEST).is_file():
        return inner
    raise InputError(f"ONNX bundle {bundle} holds no bundle ({inner.name}/{MANIFEST}) for backend {backend}")


def check_backend_choice(backend: str, precision: Optional[str] = None, use_cache: bool = True,
                         bundle: Union[str, Path, None] = None, threads: Optional[int] = None) -> Optional[str]:
    """Refuses combinations that cannot run (``InputError``); returns the bundle folder to load, if any."""
    from . import available_backends

    if backend not in available_backends():
        raise InputError(f"unknown backend {backend!r}; available: {', '.join(available_backends())}")
    if threads is not None and (int(threads) != threads or threads < 1):
        raise InputError(f"threads must be a positive whole number, got {threads!r}")
    if not use_cache and backend not in FULL_FORWARD_BACKENDS:
        raise InputError(f"the full forward every frame runs on backend {' or '.join(FULL_FORWARD_BACKENDS)} only; "
                         f"backend {backend} always runs the cached template path (the same outputs)")
    if bundle is None:
        return None
    if backend not in BUNDLE_BACKENDS:
        raise InputError(f"an ONNX bundle (--onnx-bundle) is read by backend {', '.join(BUNDLE_BACKENDS)}, "
                         f"not {backend}")
    return str(resolve_bundle(bundle, backend, precision))


__all__ = ["BUNDLE_BACKENDS", "FULL_FORWARD_BACKENDS", "check_backend_choice", "is_bundle_folder", "resolve_bundle"]
