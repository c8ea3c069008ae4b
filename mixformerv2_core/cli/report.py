"""``mixformerv2-report``: score several result sets on one benchmark and report them side by side.

Each ``--results NAME=DIR`` is a result directory: ours, or another tracker's raw results (one ``x,y,w,h``
file per sequence, comma/tab/space separated; ``<seq>.txt`` or ``<seq>/<seq>_001.txt``). Writes
``report.md`` (tables, per-attribute AUC where the dataset has attributes), ``scores.json`` and PNG plots.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from ..evaluation import report
from ..evaluation.datasets import LOADERS, load_dataset
from .runner import command_main


def parse_result_set(text: str) -> tuple[str, Path]:
    name, sep, directory = text.partition("=")
    if not sep:
        return Path(text).name, Path(text)
    if not name or not directory:
        raise argparse.ArgumentTypeError(f"--results expects NAME=DIR or DIR, got {text!r}")
    return name, Path(directory)


def publish(sequences: Sequence, scores: Sequence[report.Scores], out: Path, title: str) -> Path:
    """Write the report folder and print its overall table and where it is (as every scoring command does)."""
    path = report.write_report(sequences, scores, out, title)
    print(report.markdown_table({s.name: s.summary() for s in scores}), end="")
    print(f"report: {path}")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixformerv2-report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, choices=sorted(LOADERS))
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--results", required=True, nargs="+", type=parse_result_set, metavar="NAME=DIR")
    parser.add_argument("--sequences", nargs="*", default=None, help="only these sequences")
    parser.add_argument("--out", required=True, type=Path, help="report directory")
    parser.add_argument("--title", default=None)
    parser.add_argument("--official-rounding", action="store_true",
                        help="score with pytracking's unclipped IoU (a perfect float box can pass threshold 1.0)")
    return parser


def run(args: argparse.Namespace) -> int:
    sequences = load_dataset(args.dataset, args.root, args.sequences)
    scores = [report.score_results(sequences, directory, name, args.official_rounding)
              for name, directory in args.results]
    publish(sequences, scores, args.out, args.title or args.dataset)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
