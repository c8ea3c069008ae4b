"""``mixformerv2-eval``: run a tracker configuration over a benchmark (one-pass evaluation) and score it.

Results land in ``--out`` (one ``x,y,w,h`` file and one time file per sequence, ``summary.json``, the
GOT-10k / TrackingNet submission zip); a rerun skips finished sequences. Datasets with full ground truth
are scored at the end (``report.md``, ``scores.json``, PNG plots in ``--out/report``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from ..demo_model import demo_weights_warning
from ..errors import MixFormerV2Error
from ..evaluation import report
from ..evaluation.datasets import LOADERS, load_dataset
from ..evaluation.runner import PRESETS, RunSummary, TrackerSpec, finish_run, run_sequences
from ..evaluation.sharding import Ranks, parse_shard, select_shard, torchrun_ranks
from .report import publish
from .runner import EXPECTED_FAILURES, command_main
from .tracker_options import add_tracker_options, settings_line, tracker_overrides


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixformerv2-eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, type=Path, help="official .pth.tar or our checkpoint")
    parser.add_argument("--variant", choices=["S", "B"], default=None)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--precision", default=None, help="backend precision (e.g. float16, int8); default: its own")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dataset", required=True, choices=sorted(LOADERS))
    parser.add_argument("--root", required=True, type=Path, help="dataset root as distributed")
    parser.add_argument("--sequences", nargs="*", default=None, help="only these sequences (names)")
    parser.add_argument("--sequence-list", type=Path, default=None, help="file with one sequence name per line")
    parser.add_argument("--out", type=Path, required=True,
                        help="result directory (resumed if it exists and was made with the same configuration)")
    parser.add_argument("--new-folder", action="store_true",
                        help="if --out holds results of another configuration, use the next free OUT_<k> instead "
                             "of refusing")
    parser.add_argument("--official-rounding", action="store_true",
                        help="write boxes as integers truncated toward zero and score with the unclipped IoU, as "
                             "pytracking does (reproduces official numbers; default: 2 decimals, IoU clipped to 1)")
    parser.add_argument("--name", default=None, help="name of this result set in tables (default: --out's name)")
    parser.add_argument("--workers", type=int, default=1, help="parallel worker processes (1 = this process)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="run only shard K of N (0 <= K < N; e.g. a cluster array job) into the shared --out; "
                             "afterwards the same command without --shard writes the summary and report. Under "
                             "torchrun every rank takes the shard of its rank and rank 0 writes the report")
    add_tracker_options(parser, preset_default="the dataset's official one, e.g. lasot, got10k_test")
    return parser


def run(args: argparse.Namespace) -> int:
    notice = demo_weights_warning(args.checkpoint)  # benchmarks are real video
    if notice:
        print(f"mixformerv2-eval: warning: {notice}", file=sys.stderr)
    names = list(args.sequences or [])
    if args.sequence_list is not None:
        names += [line.strip() for line in args.sequence_list.read_text().splitlines() if line.strip()]
    sequences = load_dataset(args.dataset, args.root, names or None)
    spec = TrackerSpec(
        checkpoint=str(args.checkpoint), variant=args.variant, backend=args.backend, device=args.device,
        precision=args.precision, preset=args.preset or PRESETS.get(args.dataset),
        params=tuple(tracker_overrides(args).items()), threads=args.threads,
    )
    print(settings_line(spec.resolved_params()))
    ranks = torchrun_ranks()
    try:
        summary, shard_failed = _run_shard(args, spec, sequences, ranks)
    finally:
        if ranks is not None:
            ranks.close()
    if summary is None:  # one shard of a larger run: the report is written over all shards
        return 1 if shard_failed else 0
    out = Path(summary.out_dir)
    if out != args.out:
        print(f"{args.out} holds another configuration's results: this run uses {out}")
    print(f"{len(summary.sequences)}/{len(sequences)} sequences finished ({len(summary.skipped)} from an earlier "
          f"run); overall {summary.overall_fps:.1f} FPS")
    for name, error in summary.failed.items():
        print(f"FAILED {name}: {error}", file=sys.stderr)
    if summary.submission:
        print(f"submission: {summary.submission}")
    if summary.failed:
        return 1
    if all(s.fully_annotated for s in sequences):
        scores = report.score_results(sequences, out, args.name or out.name, args.official_rounding)
        publish(sequences, [scores], out / "report", args.dataset)
    return 0


def _run_shard(args: argparse.Namespace, spec: TrackerSpec, sequences: list,
               ranks: Ranks | None) -> tuple[RunSummary | None, bool]:
    """Run this process's sequences; under torchrun wait for all ranks, and on rank 0 finish the whole run.

    Returns the summary over all sequences, or None on a process that only ran its shard (with whether
    any of its sequences failed).
    """
    if args.shard and ranks is not None:
        raise ValueError("--shard and torchrun both split the run: use one of them")
    shard = parse_shard(args.shard) if args.shard else (ranks.rank, ranks.world) if ranks else None
    mine = select_shard(sequences, *shard) if shard else sequences
    result_format = "official" if args.official_rounding else "decimals2"
    try:
        summary = run_sequences(spec, mine, args.out, workers=args.workers, progress=not args.no_progress,
                                new_folder=args.new_folder, result_format=result_format, finish=shard is None,
                                dataset=sequences[0].dataset if sequences else None)
        outcome: tuple = ("ok", summary.out_dir, summary.failed, summary.skipped)
    except EXPECTED_FAILURES as error:
        if ranks is None:
            raise
        outcome, summary = ("error", f"{type(error).__name__}: {error}"), None
    if shard is None:
        return summary, bool(summary.failed)
    outcomes = ranks.gather(outcome) if ranks is not None else [outcome]
    errors = [f"rank {r}: {o[1]}" for r, o in enumerate(outcomes) if o[0] == "error"]
    if errors:
        raise MixFormerV2Error("; ".join(errors))
    if ranks is None or ranks.rank != 0:
        print(f"shard {shard[0]}/{shard[1]}: {len(mine) - len(summary.failed)}/{len(mine)} sequences finished")
        for name, error in summary.failed.items():
            print(f"FAILED {name}: {error}", file=sys.stderr)
        return None, bool(summary.failed)
    merged = RunSummary(out_dir=outcomes[0][1])
    for _, _, failed, skipped in outcomes:
        merged.failed.update(failed)
        merged.skipped.extend(skipped)
    return finish_run(merged, sequences, Path(merged.out_dir)), bool(merged.failed)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
