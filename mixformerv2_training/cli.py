"""``mixformerv2-train``: run one training stage from a YAML preset (single process or under ``torchrun``).

mixformerv2-train --config dense_to_sparse_b [--resume] [section.key=value ...]
mixformerv2-train --config real_score --chain [--output-dir ROOT]    # the whole route that ends there
torchrun --nproc_per_node 8 -m mixformerv2_training.cli --config dense_to_sparse_b
"""
from __future__ import annotations

import argparse
import os
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
               "  mixformerv2-train --config real_score --chain --output-dir runs/real_route\n"
               "  torchrun --nproc_per_node 8 -m mixformerv2_training.cli --config deep_to_shallow_b")
    parser.add_argument("--config", required=True, help=f"YAML file or preset name ({presets})")
    parser.add_argument("--resume", action="store_true", help="continue from <output_dir>/checkpoints/last.pt")
    parser.add_argument("--chain", action="store_true",
                        help="first train the stages this preset reads (the presets whose results its teacher / "
                             "init checkpoints are), in order: a stage with a final.pt is skipped, one cut short "
                             "is resumed; overrides apply to every stage")
    parser.add_argument("--output-dir", default=None, metavar="DIR",
                        help="run folder (overrides output_dir); with --chain, each stage's folder is DIR/<preset>")
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
    if summary.get("selected_epoch") is not None:
        rows.append(("chosen epoch", f"{summary['selected_epoch']} (best on the validation scenes; validation.json)"))
    width = max(len(name) for name, _ in rows)
    return "mixformerv2-train: summary\n" + "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def _train(config: dict, resume: bool) -> dict:
    from .trainer import Trainer  # after argument checks: importing the trainer pulls in the data stack

    summary = Trainer(config, resume=resume).fit()
    print(format_summary(summary, config.get("stage", "")))
    return summary


def _interrupted(summary: dict) -> bool:
    return bool(summary["stopped_by"] and summary["stopped_by"].startswith("signal"))


def _run_chain(args: argparse.Namespace) -> int:
    from .chain import plan_chain

    if args.resume:
        raise ValueError("--chain resumes a stage that was cut short by itself; drop --resume")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # each rank would race the others to the next stage's inputs
        raise ValueError("--chain runs in one process; under torchrun, run one stage per command")
    stages = plan_chain(args.config, args.overrides, args.output_dir)
    print("mixformerv2-train: route " + " -> ".join(stage.name for stage in stages))
    rows = []
    for stage in stages:
        if stage.done:
            print(f"mixformerv2-train: {stage.name}: {stage.final} exists, skipped "
                  "(delete its folder to train it again)")
            rows.append((stage.name, "skipped", "-"))
            continue
        resume = stage.cut_short
        print(f"mixformerv2-train: {stage.name}: {'resuming' if resume else 'training'} in {stage.run_dir}")
        summary = _train(stage.config, resume)
        rows.append((stage.name, f"{summary['global_step']} steps", _duration(summary.get("seconds", 0.0))))
        if _interrupted(summary):
            print(_chain_table(rows))
            return EXIT_INTERRUPTED
    print(_chain_table(rows))
    return 0


def _chain_table(rows: list[tuple[str, str, str]]) -> str:
    width = max(len(name) for name, _, _ in rows)
    return "mixformerv2-train: route summary (time of this run)\n" + "\n".join(
        f"  {name:<{width}}  {steps:<12}  {time}" for name, steps, time in rows)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.chain:
        return _run_chain(args)
    overrides = list(args.overrides) + ([f"output_dir={args.output_dir}"] if args.output_dir else [])
    summary = _train(load_config(args.config, overrides), args.resume)
    return EXIT_INTERRUPTED if _interrupted(summary) else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
