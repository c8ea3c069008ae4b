"""Per-target template entries and the batch built from them, shared by the backends.

The batch for the current set of targets is assembled once and reused every frame; a template update of a
target in that batch rewrites its slot in place instead of rebuilding the batch.
"""
from __future__ import annotations

from typing import Callable, Generic, Hashable, Optional, Sequence, TypeVar

import numpy as np

Entry = TypeVar("Entry")
Batch = TypeVar("Batch")


class TemplateStore(Generic[Entry, Batch]):
    def __init__(self, concat: Callable[[list], Batch], write_slot: Callable[[Batch, int, Entry], None]) -> None:
        self._concat = concat
        self._write_slot = write_slot
        self._entries: dict[Hashable, Entry] = {}
        self._batch_keys: Optional[tuple] = None
        self._batch: Optional[Batch] = None

    def set(self, key: Hashable, entry: Entry) -> None:
        self._entries[key] = entry
        for slot in slots_of(self._batch_keys, key):
            self._write_slot(self._batch, slot, entry)

    def remove(self, key: Hashable) -> None:
        self._entries.pop(key, None)
        self._batch_keys = self._batch = None

    def clear(self) -> None:
        self._entries.clear()
        self._batch_keys = self._batch = None

    def batched(self, keys: Sequence[Hashable]) -> Batch:
        keys = tuple(keys)
        if keys != self._batch_keys:
            missing = [key for key in keys if key not in self._entries]
            if missing:
                raise KeyError(f"no templates set for {missing}")
            self._batch = self._concat([self._entries[key] for key in keys])
            self._batch_keys = keys
        return self._batch


def slots_of(batch_keys: Optional[Sequence[Hashable]], key: Hashable) -> list[int]:
    """Every row of the batch that holds ``key``: a key may fill several rows (a lost target's wide search)."""
    return [slot for slot, other in enumerate(batch_keys or ()) if other == key]


def write_kv_slot(batch, slot: int, kv) -> None:
    """Slot writer for per-layer keys/values ``(depth, 2, B, ...)`` (NumPy arrays or tensors alike)."""
    batch[:, :, slot] = kv[:, :, 0]


def encoder_feed(template: np.ndarray, online_template: np.ndarray) -> dict[str, np.ndarray]:
    """The inputs of an exported template encoder: one target's templates as a batch of one, float32."""
    return {"template": np.ascontiguousarray(template, dtype=np.float32)[None],
            "online_template": np.ascontiguousarray(online_template, dtype=np.float32)[None]}


class KeepsTemplates:
    """``remove``/``clear`` of a backend whose per-target templates live in ``self._templates``."""

    _templates: TemplateStore

    def remove(self, key: Hashable) -> None:
        self._templates.remove(key)

    def clear(self) -> None:
        self._templates.clear()
