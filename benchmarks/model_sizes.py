"""Candidate sizes for a built-in model that tracks real video (issue #16, docs/demo_model.md): parameters,
whole tracker step (crop + network + post-processing, cached template path, 640x480 frames, random weights)
and one training step (forward and backward at batch 16, AdamW), median and p90.

The route's wall time is estimated from the training step: the demo recipe's 6,900 steps (teacher 2,400,
dense-to-sparse 3,600, score 900; docs/demo_model.md) at the measured student step time (the teacher's step
is of the same order at these sizes; data loading runs in a worker beside it and is not counted).

    python benchmarks/model_sizes.py [--candidates demo wide96 wide128p16] [--threads 2] [--frames 60]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads must not spin on a 2-core machine

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mixformerv2_core import MixFormerV2Tracker, ModelConfig, build_model, resolve_params  # noqa: E402
from mixformerv2_core.backends import TorchBackend  # noqa: E402
from mixformerv2_core.cli.runner import run_command  # noqa: E402
from mixformerv2_core.cpu_features import cpu_model_name, detect_cpu  # noqa: E402
from mixformerv2_core.synthetic import generate_sequence  # noqa: E402

CANDIDATES = {
    # the current demo: 8x8 search tokens
    "demo": ModelConfig(embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0, patch_size=8, template_size=32,
                        search_size=64, feat_sz=16, head_hidden_dim=64, drop_path_rate=0.0),
    # wider, larger crops at the same patch: 12x12 search tokens, finer localisation of small targets
    "wide96": ModelConfig(embed_dim=96, depth=4, num_heads=4, mlp_ratio=2.0, patch_size=8, template_size=48,
                          search_size=96, feat_sz=24, head_hidden_dim=96, drop_path_rate=0.0),
    # wider still, 16-pixel patches over 128-pixel crops: 8x8 search tokens with more pixels behind each
    "wide128p16": ModelConfig(embed_dim=128, depth=4, num_heads=4, mlp_ratio=2.0, patch_size=16, template_size=64,
                              search_size=128, feat_sz=32, head_hidden_dim=128, drop_path_rate=0.0),
    # deeper demo width: 6 blocks at 12x12 tokens
    "deep6w64": ModelConfig(embed_dim=64, depth=6, num_heads=4, mlp_ratio=2.0, patch_size=8, template_size=48,
                            search_size=96, feat_sz=24, head_hidden_dim=64, drop_path_rate=0.0),
}
ROUTE_STEPS = 2400 + 3600 + 900


def tracker_step_ms(config: ModelConfig, frames: list, box, warmup: int) -> list[float]:
    torch.manual_seed(0)
    model = build_model(config).eval()
    tracker = MixFormerV2Tracker(TorchBackend(model, use_cache=True), resolve_params(config))
    tracker.initialize(frames[0], box)
    times = []
    for index, frame in enumerate(frames[1:]):
        start = time.perf_counter()
        tracker.track(frame)
        if index >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
    return times


def train_step_ms(config: ModelConfig, steps: int, batch: int = 16) -> list[float]:
    torch.manual_seed(0)
    model = build_model(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    template = torch.randn(batch, 3, config.template_size, config.template_size)
    search = torch.randn(batch, 3, config.search_size, config.search_size)
    times = []
    for index in range(steps + 2):
        start = time.perf_counter()
        out = model(template, template, search)
        loss = out["pred_boxes"].square().mean() + out["pred_scores"].square().mean() if "pred_scores" in out \
            else out["pred_boxes"].square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index >= 2:
            times.append((time.perf_counter() - start) * 1e3)
    return times


def main(argv=None) -> int:
    """Fails as ``model_sizes.py: error: ...`` (exit 2), as the project's commands do."""
    parser = argparse.ArgumentParser(prog="model_sizes.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--train-steps", type=int, default=10)
    args = parser.parse_args(argv)
    if min(args.threads, args.frames, args.train_steps) < 1 or args.warmup < 0:  # else a traceback after timing
        parser.error("--threads, --frames and --train-steps take N >= 1, --warmup N >= 0")
    return run_command(parser.prog, lambda: run(args))


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    sequence = generate_sequence(seed=0, num_frames=args.frames + args.warmup + 1, frame_size=(480, 640))
    print(f"machine: {cpu_model_name()} ({detect_cpu().describe()}), {os.cpu_count()} logical cores, torch "
          f"{torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f} at the start")
    header = (f"{'candidate':<11}{'params M':>9}{'tokens':>8}{'step ms':>9}{'p90':>7}{'FPS':>6}"
              f"{'train ms':>10}{'p90':>7}{'route h':>9}")
    print(header)
    print("-" * len(header))
    for name in args.candidates:
        config = CANDIDATES[name]
        params = sum(p.numel() for p in build_model(config).parameters()) / 1e6
        step = tracker_step_ms(config, sequence.frames, sequence.boxes[0], args.warmup)
        train = train_step_ms(config, args.train_steps)
        tokens = (config.search_size // config.patch_size) ** 2
        median, train_median = statistics.median(step), statistics.median(train)
        print(f"{name:<11}{params:>9.2f}{tokens:>8}{median:>9.2f}{np.percentile(step, 90):>7.2f}"
              f"{1000 / median:>6.0f}{train_median:>10.1f}{np.percentile(train, 90):>7.1f}"
              f"{ROUTE_STEPS * train_median / 3.6e6:>9.2f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    sys.exit(main())
