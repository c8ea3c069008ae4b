"""The model and backend options every tracking command shares: one definition of the flags, one check.

``mixformerv2-track``, ``mixformerv2-eval`` and offline ``mixformerv2-replay`` add them with
:func:`add_backend_options` and hand :func:`backend_settings` to ``TrackerSpec``, whose check
(``backends.selection``) refuses combinations that cannot run. A flag the user did not give stays unset and
``TrackerSpec``'s default applies: the defaults live there only.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, Union

from ..backends import available_backends
from ..backends.selection import BUNDLE_BACKENDS, FULL_FORWARD_BACKENDS, is_bundle_folder
from ..errors import InputError
from ..evaluation.runner import TrackerSpec

_DEFAULTS = {field.name: field.default for field in dataclasses.fields(TrackerSpec)}
_Container = Union[argparse.ArgumentParser, argparse._ArgumentGroup]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expects a number >= 1, got {value}")
    return value


def add_backend_options(group: _Container) -> _Container:
    """Adds ``--variant --backend --onnx-bundle --precision --full-forward --device --threads`` to ``group``."""
    bundle_backends = ", ".join(BUNDLE_BACKENDS)
    group.add_argument("--variant", choices=["S", "B"], default=None, help="expected variant, checked against the weights")
    group.add_argument("--backend", choices=available_backends(), default=None, metavar="NAME",
                       help=f"inference backend: {', '.join(available_backends())} (default {_DEFAULTS['backend']})")
    group.add_argument("--onnx-bundle", type=Path, default=None, metavar="DIR",
                       help=f"backends {bundle_backends}: a bundle written by mixformerv2-export (its --output "
                            "folder or the fp32/int8 folder inside); default: export into the cache on first use")
    group.add_argument("--precision", default=None,
                       help="backend precision: torch float32 (default), float16 or bfloat16; onnx/openvino fp32 "
                            "(default) or int8")
    group.add_argument("--full-forward", action="store_true",
                       help=f"backend {' or '.join(FULL_FORWARD_BACKENDS)}: run the official full forward every "
                            "frame instead of the cached template path")
    group.add_argument("--device", default=None, help=f"cpu, cuda or cuda:N (default {_DEFAULTS['device']})")
    group.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                       help="intra-op threads of the network (per worker); default: the runtime's choice, "
                            "with mixformerv2-eval --workers N the CPU count / N")
    return group


def backend_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``TrackerSpec`` fields the user set (unset ones left out, so its defaults apply)."""
    values = {"variant": args.variant, "backend": args.backend, "device": args.device, "precision": args.precision,
              "threads": args.threads, "bundle": None if args.onnx_bundle is None else str(args.onnx_bundle),
              "use_cache": False if args.full_forward else None}
    return {name: value for name, value in values.items() if value is not None}


def check_weights(path: Path, option: str) -> None:
    """Clear messages for the usual wrong files, before torch tries to unpickle them."""
    if path.is_dir():
        hint = (": it looks like an ONNX bundle, give it as --onnx-bundle with --backend onnx or onnx-int8"
                if is_bundle_folder(path) else "")
        raise InputError(f"{option} {path} is a directory, not a weights file{hint}")
    if not path.exists():
        raise InputError(f"weights file not found: {path}")
    if path.suffix.lower() == ".onnx":
        raise InputError(f"{option} {path}: this is an ONNX graph, not weights; use the weights it was exported "
                         f"from with --backend onnx (or onnx-int8) --onnx-bundle DIR, DIR being the folder "
                         f"mixformerv2-export wrote")


__all__ = ["add_backend_options", "backend_settings", "check_weights"]
