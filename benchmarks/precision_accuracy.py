"""Tracking accuracy of a trained network per backend and precision, on held-out generated scenes.

Each backend runs the core tracker through ``mixformerv2_core.evaluation.synthetic.evaluate_synthetic`` (the same
protocol as ``python -m mixformerv2_training.synthetic_eval``: held-out seeds, AUC over IoU thresholds 0..1,
frame 0 excluded), so the table answers "what does INT8 / BF16 cost in AUC and mean IoU" for real weights.

    python benchmarks/precision_accuracy.py [--weights mixformerv2_core/assets/mixformerv2_demo.pt]
        [--sequences 20] [--frames 100] [--scenes default easy] [--backends torch onnx onnx-int8 torch:bfloat16]
        [--threads 1] [--json results.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads would steal the working thread's core

from mixformerv2_core import MixFormerV2Tracker, MultiTargetTracker, read_checkpoint  # noqa: E402
from mixformerv2_core.backends import available_backends  # noqa: E402
from mixformerv2_core.checkpoint import LoadedCheckpoint  # noqa: E402
from mixformerv2_core.cli.runner import run_command, writable_dir, writable_file  # noqa: E402
from mixformerv2_core.cli.track import DEMO_WEIGHTS  # noqa: E402
from mixformerv2_core.evaluation.synthetic import HELD_OUT_SEED, evaluate_synthetic  # noqa: E402

SCENES = {"default": None, "easy": {"num_distractors": 0, "occlusion": False}}
DEFAULT_BACKENDS = ("torch", "onnx", "onnx-int8", "torch:bfloat16")


def parse_backend(spec: str) -> tuple[str, Optional[str]]:
    """``"torch:bfloat16"`` -> ``("torch", "bfloat16")``; ``"onnx-int8"`` -> ``("onnx-int8", None)``."""
    name, _, precision = spec.partition(":")
    return name, precision or None


def tracker_factory(checkpoint: LoadedCheckpoint, spec: str, threads: int,
                    cache_dir: Optional[str]) -> Callable[[], MixFormerV2Tracker]:
    """One backend (ONNX sessions and bundles are made once), a fresh tracker on it for every sequence."""
    name, precision = parse_backend(spec)
    options = {"threads": threads}
    if cache_dir and name.startswith("onnx"):
        options["cache_dir"] = cache_dir
    multi = MultiTargetTracker.from_checkpoint(checkpoint, backend=name, precision=precision, backend_options=options)

    def make() -> MixFormerV2Tracker:
        multi.backend.clear()
        return MixFormerV2Tracker(multi.backend, multi.params)

    return make


def main(argv: Optional[list] = None) -> int:
    """Fails as ``precision_accuracy.py: error: ...`` (exit 2), as the project's commands do."""
    parser = argparse.ArgumentParser(prog="precision_accuracy.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=str(DEMO_WEIGHTS), help="a trained checkpoint (default: the demo model)")
    parser.add_argument("--sequences", type=int, default=20)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--scenes", nargs="+", choices=sorted(SCENES), default=["default", "easy"])
    parser.add_argument("--backends", nargs="+", default=list(DEFAULT_BACKENDS),
                        help="backend names, optionally with a precision: torch, onnx, onnx-int8, torch:bfloat16")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache-dir", default=None, help="ONNX bundle cache (default: the backend's own)")
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    unknown = sorted({parse_backend(spec)[0] for spec in args.backends} - set(available_backends()))
    if unknown:  # else it fails only after the backends before it have run
        parser.error(f"unknown backends {unknown}; choose from {', '.join(available_backends())}")
    if args.sequences < 1 or args.frames < 2:
        parser.error(f"--sequences takes N >= 1 and --frames N >= 2 (frame 0 is not scored), "
                     f"got {args.sequences} and {args.frames}")
    return run_command(parser.prog, lambda: run(args))


def run(args: argparse.Namespace) -> None:
    """Outputs are checked and the weights read before the first backend's minutes of tracking."""
    if args.json:
        writable_file(args.json)
    if args.cache_dir:
        writable_dir(args.cache_dir)
    checkpoint = read_checkpoint(args.weights)
    rows = []
    for spec in args.backends:
        start = time.perf_counter()
        make = tracker_factory(checkpoint, spec, args.threads, args.cache_dir)
        setup = time.perf_counter() - start
        for scenes in args.scenes:
            score = evaluate_synthetic(make, args.sequences, args.frames, first_seed=args.first_seed,
                                       scene_options=SCENES[scenes])
            rows.append({"backend": spec, "scenes": scenes, "setup_s": setup, **score.as_dict()})
            print(f"done: {spec} on {scenes} scenes ({score.seconds:.0f} s)", flush=True)

    print(f"\n{args.weights}: {args.sequences} held-out sequences x {args.frames} frames from seed {args.first_seed}, "
          f"{args.threads} thread(s)\n")
    print("| scenes | backend | frames | AUC | mean IoU | AUC static box | mean IoU static box | s |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['scenes']} | {row['backend']} | {row['frames']} | {row['auc']:.4f} | {row['mean_iou']:.4f} | "
              f"{row['baseline_auc']:.4f} | {row['baseline_mean_iou']:.4f} | {row['seconds']:.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
