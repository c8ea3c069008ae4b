"""``mixformerv2-train``: run one training stage from a YAML preset (single process or under ``torchrun``).

mixformerv2-train --config dense_to_sparse_b [--resume] [section.key=value ...]
torchrun --nproc_per_node 8 -m mixformerv2_training.cli --config dense_to_sparse_b
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

import torch

from mixformerv2_core.cli.runner import EXIT_INTERRUPTED, command_main

from .config import PRESET_DIR, load_config


def build_parser() -> argparse.ArgumentParser:
    presets = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))
    parser = argparse.ArgumentParser(
        prog="mixformerv2-train", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one training stage from a YAML preset (single process or under torchrun).",
        epilog="examples:\n  mixformerv2-train --config tiny_teacher\n"
               "  mixformerv2-train --config dense_to_sparse_b --resume train.epochs=3\n"
               "  torchrun --nproc_per_node 8 -m mixformerv2_training.cli --config deep_to_shallow_b")
    parser.add_argument("--config", required=True, help=f"YAML file or preset name ({presets})")
    parser.add_argument("--resume", action="store_true", help="continue from <output_dir>/checkpoints/last.pt")
    parser.add_argument("--output-dir", default=None, metavar="DIR", help="run folder (overrides output_dir)")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="torch CPU threads per process")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value", help="section.key=value overrides, e.g. train.epochs=3")
    return parser


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def format_summary(summary: dict, stage: str = "") -> str:
    """The run's end as a small table a person reads (the per-step records are in <run>/log.jsonl)."""
    epochs = f"{summary['epochs_done']} of {summary['epochs']}"
    if summary.get("batches_into_next_epoch"):
        epochs += f" (+{summary['batches_into_next_epoch']} batches of the next)"
    rows = [
        ("stage", stage or "-"),
        ("epochs done", epochs),
        ("steps", str(summary["global_step"])),
        ("stopped by", summary["stopped_by"] or "the last epoch (finished)"),
        ("last logged loss", "-" if summary.get("last_loss") is None else f"{summary['last_loss']:.4f}"),
        ("time", _duration(summary.get("seconds", 0.0))),
        ("run folder", summary.get("run_dir", "-")),
        ("final weights", summary.get("final") or "not written (interrupted: continue with --resume)"),
    ]
    width = max(len(name) for name, _ in rows)
    return "mixformerv2-train: summary\n" + "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides) + ([f"output_dir={args.output_dir}"] if args.output_dir else [])
    config = load_config(args.config, overrides)
    if args.threads:
        torch.set_num_threads(args.threads)
    from .trainer import Trainer  # after argument checks: importing the trainer pulls in the data stack

    summary = Trainer(config, resume=args.resume).fit()
    print(format_summary(summary, config.get("stage", "")))
    if summary["stopped_by"] and summary["stopped_by"].startswith("signal"):
        return EXIT_INTERRUPTED
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
