"""Splitting one evaluation over several processes or machines that share the result folder.

``--shard K/N`` (cluster array jobs) runs shard ``K`` of ``N``; under ``torchrun`` every rank runs the shard
of its rank. The split is deterministic (the same on every machine): longest sequences first, each to the
shard with the fewest frames so far (ties: lowest shard), so shards take similar time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Sequence

from .datasets import BenchmarkSequence

#: How long torchrun ranks wait for each other at the end (a LaSOT shard on one CPU takes hours).
BARRIER_TIMEOUT = timedelta(days=7)


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` with ``0 <= K < N`` -> ``(K, N)``; anything else is a ValueError that says the format."""
    k, sep, n = text.partition("/")
    try:
        shard, count = int(k), int(n)
    except ValueError:
        shard = count = -1
    if not sep or count < 1 or not 0 <= shard < count:
        raise ValueError(f"--shard expects K/N with 0 <= K < N (e.g. 0/4 ... 3/4), got {text!r}")
    return shard, count


def select_shard(sequences: Sequence[BenchmarkSequence], shard: int, count: int) -> list[BenchmarkSequence]:
    """The sequences of shard ``shard`` of ``count``, in dataset order."""
    load = [0] * count
    owner: dict[str, int] = {}
    for index in sorted(range(len(sequences)), key=lambda i: (-len(sequences[i]), i)):
        target = min(range(count), key=lambda s: (load[s], s))
        owner[sequences[index].name] = target
        load[target] += len(sequences[index])
    return [s for s in sequences if owner[s.name] == shard]


@dataclass
class Ranks:
    """This process's place in a torchrun job (one rank of ``world`` processes)."""

    rank: int
    world: int

    def gather(self, obj: object) -> list[object]:
        """Wait for every rank, then return each rank's ``obj`` (rank order)."""
        import torch.distributed as dist

        out: list[object] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        import torch.distributed as dist

        dist.destroy_process_group()


def torchrun_ranks() -> Ranks | None:
    """Join the torchrun job this process was started in (gloo, CPU-only), or None when not under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return None
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo", timeout=BARRIER_TIMEOUT)
    return Ranks(dist.get_rank(), dist.get_world_size())
