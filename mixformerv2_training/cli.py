"""``mixformerv2-train``: run one training stage from a YAML preset (single process or under ``torchrun``).

    mixformerv2-train --config dense_to_sparse_b [--resume] [section.key=value ...]
    torchrun --nproc_per_node 8 -m mixformerv2_training.cli --config dense_to_sparse_b
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

import torch

from .config import PRESET_DIR, load_config


def build_parser() -> argparse.ArgumentParser:
    presets = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))
    parser = argparse.ArgumentParser(prog="mixformerv2-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help=f"YAML file or preset name ({presets})")
    parser.add_argument("--resume", action="store_true", help="continue from <output_dir>/checkpoints/last.pt")
    parser.add_argument("--output-dir", default=None, help="run folder (overrides output_dir)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    parser.add_argument("overrides", nargs="*", help="section.key=value overrides, e.g. train.epochs=3")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = list(args.overrides) + ([f"output_dir={args.output_dir}"] if args.output_dir else [])
    try:
        config = load_config(args.config, overrides)
    except (ValueError, FileNotFoundError) as error:
        print(f"mixformerv2-train: {error}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    from .trainer import Trainer  # after argument checks: importing the trainer pulls in the data stack

    try:
        summary = Trainer(config, resume=args.resume).fit()
    except (FileNotFoundError, ValueError) as error:
        print(f"mixformerv2-train: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    if summary["stopped_by"] and summary["stopped_by"].startswith("signal"):
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
