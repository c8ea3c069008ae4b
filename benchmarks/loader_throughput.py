"""Samples/s of the training data loader alone (no network): synthetic data by default, or any preset's data.

    python benchmarks/loader_throughput.py --config student_synthetic --workers 0 2 4 --batches 20

Prints a table with the median and p90 time per batch and the resulting samples/s for each worker count.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from mixformerv2_core.cli.runner import run_command
from mixformerv2_training.config import load_config
from mixformerv2_training.data import build_loader, build_training_dataset
from mixformerv2_training.stages import student_config


def measure(config: dict, workers: int, batches: int, pin_memory: bool) -> list[float]:
    model = student_config(config["model"])
    data = dict(config["data"], num_workers=workers, samples_per_epoch=(batches + 2) * config["data"]["batch_size"])
    dataset = build_training_dataset(data, model.template_size, model.search_size, model.patch_size, seed=config["seed"])
    loader, sampler = build_loader(dataset, data["batch_size"], workers, pin_memory=pin_memory)
    sampler.set_position(1)
    times, tick = [], time.perf_counter()
    for index, _batch in enumerate(loader):
        now = time.perf_counter()
        if index >= 2:  # the first batches include worker start-up and scene generation
            times.append(now - tick)
        tick = now
    return times


def main(argv=None) -> int:
    """Fails as ``loader_throughput.py: error: ...`` (exit 2), as the project's commands do."""
    parser = argparse.ArgumentParser(prog="loader_throughput.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="student_synthetic", help="preset name or YAML file whose data section is used")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--pin-memory", action="store_true", help="pin batches (only useful with a GPU)")
    parser.add_argument("overrides", nargs="*", help="section.key=value overrides")
    args = parser.parse_args(argv)
    if args.batches < 1 or min(args.workers) < 0:  # else a row fails only after the rows before it
        parser.error(f"--batches takes N >= 1 and --workers N >= 0, got {args.batches} and {args.workers}")
    return run_command(parser.prog, lambda: run(args))


def run(args: argparse.Namespace) -> None:
    overrides = list(args.overrides) + ([f"data.batch_size={args.batch_size}"] if args.batch_size else [])
    config = load_config(args.config, overrides)
    torch.set_num_threads(1)
    batch = config["data"]["batch_size"]
    print(f"batch size {batch}, {args.batches} timed batches per row")
    print(f"{'workers':>8} {'median s/batch':>15} {'p90 s/batch':>12} {'samples/s (median)':>19}")
    for workers in args.workers:
        times = sorted(measure(config, workers, args.batches, args.pin_memory))
        median = statistics.median(times)
        p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
        print(f"{workers:>8} {median:>15.4f} {p90:>12.4f} {batch / median:>19.1f}")


if __name__ == "__main__":
    sys.exit(main())
