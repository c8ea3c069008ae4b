"""The interface every inference backend implements for the tracker."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Protocol, Sequence

import numpy as np

from ..config import ModelConfig


@dataclass
class InferenceOutput:
    pred_boxes: np.ndarray  # (N, 4) normalised cxcywh in the search crop
    score_logits: np.ndarray  # (N,) raw score logits (+inf when the network has no score head)


class InferenceBackend(Protocol):
    """Holds each target's templates (or their cached keys/values) and runs batched search steps."""

    config: ModelConfig

    def set_templates(self, key: Hashable, template: np.ndarray, online_template: np.ndarray) -> None:
        """Templates are ``3xHtxWt float32`` normalised arrays."""

    def remove(self, key: Hashable) -> None: ...

    def clear(self) -> None: ...

    def infer(self, keys: Sequence[Hashable], search: np.ndarray) -> InferenceOutput:
        """``search`` is ``Nx3xHsxWs float32``, one row per key in ``keys``."""
