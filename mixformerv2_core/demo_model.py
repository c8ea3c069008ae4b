"""Where the built-in demo weights live, and the one warning that says what they cannot do.

The demo network was trained on generated scenes only (docs/demo_model.md). It follows them well and real
video not at all, so every tool that runs it on anything else says so once instead of failing silently.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

DEMO_WEIGHTS = Path(__file__).resolve().parent / "assets" / "mixformerv2_demo.pt"

DEMO_WEIGHTS_WARNING = (
    "the built-in demo weights were trained on generated scenes only and will not track real video; for real "
    "use give the official mixformerv2_small.pth.tar or mixformerv2_base.pth.tar (see README.md, 'Real weights')")


def is_demo_weights(weights: Union[str, os.PathLike, None]) -> bool:
    """True for the built-in demo file (by path, also through links); None/empty means 'the default' = demo."""
    if weights is None or str(weights) == "":
        return True
    try:
        return Path(weights).resolve() == DEMO_WEIGHTS
    except OSError:
        return False


def demo_weights_warning(weights: Union[str, os.PathLike, None], generated_input: bool = False) -> Optional[str]:
    """The warning to print once when ``weights`` are the demo weights and the input is not a generated scene.

    Tools whose input may be anything (the ROS node) pass ``generated_input=False``.
    """
    if generated_input or not is_demo_weights(weights):
        return None
    return DEMO_WEIGHTS_WARNING
