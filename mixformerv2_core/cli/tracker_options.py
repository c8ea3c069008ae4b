"""The tracker options every command shares: one definition of their names, meaning and "unset" default.

A flag the user did not give stays ``None`` and is left out of the overrides, so the one precedence of
``tracker.resolve_params`` applies alike in every command: user-set > preset > checkpoint > variant table.
"""
from __future__ import annotations

import argparse
from typing import Any, Mapping, Union

from ..tracker import TRACKER_PRESETS, TrackerParams

SETTINGS = ("search_factor", "template_factor", "update_interval", "update_threshold", "tight_search_factor")
_PRESET_NAMES = ", ".join(sorted(TRACKER_PRESETS["B"]))


def add_tracker_options(parser: argparse.ArgumentParser, preset_default: str = "none") -> argparse._ArgumentGroup:
    """Adds ``--preset`` and the tracking settings; ``preset_default`` says what an unset preset means."""
    group = parser.add_argument_group(
        "tracker settings", "each unset one comes from the preset, else the checkpoint, else the variant table")
    group.add_argument("--preset", default=None,
                       help=f"settings of an official benchmark run: {_PRESET_NAMES}, or 'default' for none "
                            f"(default: {preset_default})")
    group.add_argument("--search-factor", type=float, default=None, metavar="F",
                       help="search region side relative to the box")
    group.add_argument("--template-factor", type=float, default=None, metavar="F",
                       help="template side relative to the box")
    group.add_argument("--update-interval", type=int, default=None, metavar="N",
                       help="frames between online-template updates")
    group.add_argument("--update-threshold", type=float, default=None, metavar="S",
                       help="lowest score of a frame that may become the online template")
    group.add_argument("--tight-search-factor", type=float, default=None, metavar="F",
                       help="a second, tighter search window around the box, in the same batch (0: off)")
    return group


def tracker_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the user gave (unset ones left out)."""
    return {name: getattr(args, name) for name in SETTINGS if getattr(args, name) is not None}


def tracker_settings(params: TrackerParams) -> dict[str, Any]:
    """The resolved values of the shared settings."""
    return {name: getattr(params, name) for name in SETTINGS}


def settings_line(settings: Union[TrackerParams, Mapping[str, Any]]) -> str:
    """One line naming the resolved settings, as every command prints them."""
    values = settings if isinstance(settings, Mapping) else tracker_settings(settings)
    return "tracker settings: " + ", ".join(f"{name} {values[name]}" for name in SETTINGS)


__all__ = ["SETTINGS", "add_tracker_options", "settings_line", "tracker_overrides", "tracker_settings"]
