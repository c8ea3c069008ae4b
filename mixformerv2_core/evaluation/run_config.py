"""The configuration a result folder was made with, so that resuming never mixes two configurations.

``<out>/run_config.json`` records what decides the boxes: the checkpoint's SHA-256, backend, precision,
device, the resolved tracker parameters (after preset and overrides), the dataset and the result-file
format. A run into a folder made with another configuration is refused (or, on request, goes to the next
free ``<out>_2``, ``<out>_3``, ... folder), as is a folder holding results without a record.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..errors import InputError

CONFIG_FILE = "run_config.json"
#: Recorded for the reader, not compared (the same file may be moved or renamed).
_INFORMATIONAL = ("checkpoint_file",)


class RunConfigMismatch(InputError):
    """A result folder holds results of another configuration."""


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(spec: Any, dataset: str, result_format: str) -> dict:
    """The record for a :class:`~.runner.TrackerSpec` (reads the checkpoint to resolve its parameters)."""
    from ..checkpoint import read_checkpoint
    from ..config import variant_name

    checkpoint = read_checkpoint(spec.checkpoint, spec.variant)
    params = spec.resolved_params()
    return {
        "checkpoint_sha256": file_digest(spec.checkpoint),
        "checkpoint_file": str(spec.checkpoint),
        "variant": variant_name(checkpoint.config),
        "backend": spec.backend,
        "precision": spec.precision,
        "device": spec.device,
        "preset": spec.preset,
        "tracker_params": dataclasses.asdict(params),
        "dataset": dataset,
        "result_format": result_format,
    }


def differences(recorded: dict, wanted: dict) -> list[str]:
    keys = sorted((set(recorded) | set(wanted)) - set(_INFORMATIONAL))
    return [f"{k}: {recorded.get(k)!r} recorded, {wanted.get(k)!r} now" for k in keys if recorded.get(k) != wanted.get(k)]


def _problem(out_dir: Path, config: dict) -> str | None:
    """Why ``out_dir`` cannot take results of ``config``, or None if it can."""
    path = out_dir / CONFIG_FILE
    if path.exists():
        try:
            recorded = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            return f"{path} is unreadable ({exc})"
        diff = differences(recorded, config)
        return f"{out_dir} holds results of another configuration ({'; '.join(diff)})" if diff else None
    # (checked again: another rank of the same run may have written the record in the meantime)
    if out_dir.is_dir() and any(out_dir.glob("*_time.txt")) and not path.exists():
        return f"{out_dir} holds results but no {CONFIG_FILE} (made by an older version): their configuration is unknown"
    return None


def claim(out_dir: str | Path, config: dict, new_folder: bool = False) -> Path:
    """The folder to write results of ``config`` to: ``out_dir`` if it is new or was made with ``config``;
    with ``new_folder`` the first ``<out_dir>_<k>`` that is; otherwise a mismatch is an error.
    """
    out_dir = Path(out_dir)
    candidate, k = out_dir, 1
    while (problem := _problem(candidate, config)) is not None:
        if not new_folder:
            raise RunConfigMismatch(
                f"{problem}. Resuming would mix two configurations: use another --out, or --new-folder to "
                f"continue in the next free {out_dir.name}_<k> folder"
            )
        k += 1
        candidate = out_dir.with_name(f"{out_dir.name}_{k}")
    candidate.mkdir(parents=True, exist_ok=True)
    path = candidate / CONFIG_FILE
    if not path.exists():
        atomic_write_text(path, json.dumps(config, indent=2, sort_keys=True) + "\n")
    return candidate
