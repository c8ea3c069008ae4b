"""The project's error classes: one root, so every command can tell an expected failure from a bug.

A ``MixFormerV2Error`` (or ``OSError`` from a user's path) ends a command as ``prog: error: message`` and exit
status 2 (see ``mixformerv2_core.cli.runner``); anything else is a bug and keeps its traceback.
"""
from __future__ import annotations


class MixFormerV2Error(Exception):
    """Root of every error the project raises on purpose."""


class InputError(MixFormerV2Error, ValueError):
    """A value, file or message the user gave cannot serve (the message says why and what would)."""


class MissingDependencyError(MixFormerV2Error, ImportError):
    """An optional package the requested feature needs is not installed (the message names it)."""


class DeviceUnavailableError(MixFormerV2Error, RuntimeError):
    """The requested device (e.g. CUDA for a GPU-only backend) is not present on this machine."""


__all__ = ["DeviceUnavailableError", "InputError", "MissingDependencyError", "MixFormerV2Error"]
