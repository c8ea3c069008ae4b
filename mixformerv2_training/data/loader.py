"""Data loaders: rank sharding, resumable position, worker processes and pinned memory."""
from __future__ import annotations

import signal
from typing import Iterator

from torch.utils.data import DataLoader, Sampler

from .sampler import TrainingPairDataset


class EpochSampler(Sampler):
    """Yields ``(epoch, index)`` pairs of this rank's share of an epoch, starting ``start`` batches in.

    Carrying the epoch in the key keeps persistent workers in step without re-creating them, and the start
    offset lets ``--resume`` continue inside an interrupted epoch.
    """

    def __init__(self, num_samples: int, batch_size: int, rank: int = 0, world_size: int = 1) -> None:
        self.per_rank = num_samples // world_size
        self.batches = self.per_rank // batch_size  # drop_last, as the reference
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.epoch, self.start_batch = 0, 0

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = int(epoch), int(start_batch)

    def __len__(self) -> int:
        return max(0, self.batches - self.start_batch) * self.batch_size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for position in range(self.start_batch * self.batch_size, self.batches * self.batch_size):
            yield self.epoch, position * self.world_size + self.rank


def ignore_stop_signals(_worker_id: int) -> None:
    """A worker leaves stopping to the trainer: Ctrl-C or a SIGTERM to the process group would otherwise kill it
    mid-batch, and the trainer would die on the lost worker instead of finishing its step and checkpointing.
    Workers still exit with the trainer (PyTorch's watchdog ends them when their parent is gone).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def build_loader(dataset: TrainingPairDataset, batch_size: int, num_workers: int = 0, rank: int = 0, world_size: int = 1,
                 pin_memory: bool = False) -> tuple[DataLoader, EpochSampler]:
    sampler = EpochSampler(len(dataset), batch_size, rank, world_size)
    if sampler.batches < 1:
        raise ValueError(f"samples_per_epoch {len(dataset)} gives no full batch of {batch_size} on each of {world_size} ranks")
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=True,
        persistent_workers=num_workers > 0,
        prefetch_factor=4 if num_workers > 0 else None,
        worker_init_fn=ignore_stop_signals if num_workers > 0 else None,
    )
    return loader, sampler
