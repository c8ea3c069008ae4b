"""Per-frame latency of the whole tracker step (crop + network + post-processing), full vs cached path.

Prints one table (median and p90 ms, median CPU ms, FPS, speed-up of the cached path over the official full
forward) for each variant, measured side by side in one run on the same generated 640x480 frames, random
weights. CPU ms is process time (all threads added), much less sensitive than wall time to a loaded machine.

    python benchmarks/tracker_speed.py [--variants S B] [--frames 60] [--device cpu|cuda] [--threads N]
                                       [--device-crops]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

# Idle OpenMP threads spin by default; on a small (virtual) CPU that steals time from the other thread.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mixformerv2_core import MixFormerV2Tracker, build_model, resolve_params  # noqa: E402
from mixformerv2_core.backends import TorchBackend  # noqa: E402
from mixformerv2_core.backends.torch_backend import resolve_device, resolve_dtype  # noqa: E402
from mixformerv2_core.cli.runner import run_command  # noqa: E402
from mixformerv2_core.config import variant_config  # noqa: E402
from mixformerv2_core.cpu_features import cpu_model_name, detect_cpu  # noqa: E402
from mixformerv2_core.synthetic import generate_sequence  # noqa: E402


def machine_description(device: str) -> str:
    text = (f"{cpu_model_name()} ({detect_cpu().describe()}), {os.cpu_count()} logical cores, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    if device.startswith("cuda"):
        text += f", GPU {torch.cuda.get_device_name(torch.device(device))}"
    return text


def time_tracker(tracker: MixFormerV2Tracker, frames: list, box, warmup: int,
                 device: str) -> tuple[list[float], list[float]]:
    """Wall and CPU (process) seconds per tracker step after ``warmup`` steps."""
    tracker.initialize(frames[0], box)
    wall, cpu = [], []
    for index, frame in enumerate(frames[1:]):
        start, start_cpu = time.perf_counter(), time.process_time()
        tracker.track(frame)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if index >= warmup:
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main(argv=None) -> int:
    """Fails as ``tracker_speed.py: error: ...`` (exit 2), as the project's commands do."""
    parser = argparse.ArgumentParser(prog="tracker_speed.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["S", "B"])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default=None, help="float32 (default), float16/bfloat16 on GPU")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--device-crops", action="store_true",
                        help="crop on the torch device (the GPU path; slower than the host crop on a CPU)")
    args = parser.parse_args(argv)
    if min(args.frames, args.threads) < 1 or args.warmup < 0:
        parser.error("--frames and --threads take N >= 1, --warmup N >= 0")
    try:  # else a later variant fails after the ones before it have been timed
        for variant in args.variants:
            variant_config(variant)
        resolve_dtype(args.precision, resolve_device(args.device))
    except (RuntimeError, ValueError) as error:
        parser.error(str(error))
    return run_command(parser.prog, lambda: run(args))


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    sequence = generate_sequence(seed=0, num_frames=args.frames + args.warmup + 1, frame_size=(480, 640))
    print(f"machine: {machine_description(args.device)}")
    print(f"frames: {args.frames} timed after {args.warmup} warm-up, 640x480, device {args.device}, "
          f"precision {args.precision or 'float32'}, {'device' if args.device_crops else 'host'} crops, "
          "random weights\n")
    header = f"{'variant':<8}{'path':<17}{'median ms':>10}{'p90 ms':>9}{'CPU ms':>9}{'FPS':>8}{'speed-up':>10}"
    print(header)
    print("-" * len(header))
    for variant in args.variants:
        torch.manual_seed(0)
        model = build_model(variant).eval()
        params = resolve_params(model.config)
        medians = {}
        for label, cached in (("full (official)", False), ("cached", True)):
            backend = TorchBackend(model, device=args.device, dtype=args.precision, use_cache=cached,
                                   device_crops=args.device_crops)
            params.use_cache = cached
            tracker = MixFormerV2Tracker(backend, params)
            times, cpu = time_tracker(tracker, sequence.frames, sequence.boxes[0], args.warmup, args.device)
            medians[label] = statistics.median(times)
            ratio = medians["full (official)"] / medians[label]
            print(f"{variant:<8}{label:<17}{medians[label] * 1e3:>10.1f}{percentile(times, 90) * 1e3:>9.1f}"
                  f"{statistics.median(cpu) * 1e3:>9.1f}{1.0 / medians[label]:>8.1f}{ratio:>9.2f}x")


if __name__ == "__main__":
    sys.exit(main())
