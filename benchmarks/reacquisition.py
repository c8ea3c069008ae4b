"""Losing and finding the target again, on generated sequences where it leaves the frame or is hidden.

Each sequence tracks a target for ``LEAD`` frames, then the target is gone for k frames (not drawn, or moved out
of the frame and back) and returns; the tracker runs on. Reported per setting (k, speed, distractors, how it
leaves) and in total, for ``reacquire="wide"`` (the default) and ``"off"`` (the official tracker):

- re-acquired <= 10: share of returns where, within 10 frames of the target's return, the tracker reports a
  confident state (tracking / reacquired) with the box on the target (IoU >= ``--iou``);
- false re-acq.: "reacquired" events whose box is not on the target (IoU < 0.1), per return; on a distractor
  says how many of them sat on a look-alike (IoU >= 0.3 with one);
- tracking while absent: share of the frames without the target reported tracking / reacquired;
- cost: median (p90) ms of a step while lost (the wide search) and of a normal step, and their ratio.

A second table times random-weight MixFormerV2-S (cost only) on 480x640 frames: normal steps with re-acquisition
off, and steps of a target kept lost (``lost_threshold = reacquire_threshold = 1``) with each window cap.

    python benchmarks/reacquisition.py [--weights DEMO] [--seeds 4] [--gaps 5 15 30] [--reacquire wide off]
        [--param lost_threshold=0.4 ...] [--caps 1 2 3 4] [--skip-quality | --skip-cost]
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mixformerv2_core import (MixFormerV2Tracker, TargetState, TrackerParams, build_model,  # noqa: E402
                              read_checkpoint, resolve_params)
from mixformerv2_core.backends import TorchBackend  # noqa: E402
from mixformerv2_core.checkpoint import LoadedCheckpoint  # noqa: E402
from mixformerv2_core.cli.runner import run_command  # noqa: E402
from mixformerv2_core.cli.track import DEMO_WEIGHTS  # noqa: E402
from mixformerv2_core.evaluation.metrics import iou  # noqa: E402
from mixformerv2_core.synthetic import ABSENCE_MODES, SyntheticScene  # noqa: E402

LEAD, TAIL, WITHIN = 20, 25, 10


def machine() -> str:
    flags = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), "?")
        found = next((l.split(":", 1)[1].split() for l in lscpu.splitlines() if l.startswith("Flags")), [])
        flags = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if f in found)
    except OSError:
        model = platform.processor()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{model}, {os.cpu_count()} logical cores, flags: {flags or '-'}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads; load average (1/5/15 min) {load}")


def _iou(a, b) -> float:
    return float(iou(np.asarray([a], dtype=np.float64), np.asarray([b], dtype=np.float64))[0])


def run_sequence(tracker: MixFormerV2Tracker, scene: SyntheticScene, stop: int, min_iou: float) -> dict:
    previous = tracker.initialize(scene.render(0), scene.box(0))
    absent = tracking_absent = false = on_distractor = 0
    found_at = None
    lost_ms, normal_ms = [], []
    for index in range(1, len(scene)):
        frame = scene.render(index)
        searching = previous.state is TargetState.LOST  # this step runs the wide search
        start = time.perf_counter()
        result = previous = tracker.track(frame)
        (lost_ms if searching else normal_ms).append(1e3 * (time.perf_counter() - start))
        visible = scene.visible(index)
        overlap = _iou(result.box, scene.box(index)) if visible else 0.0
        if not visible:
            absent += 1
            tracking_absent += result.state.confident
        if result.state is TargetState.REACQUIRED and overlap < 0.1:
            false += 1
            on_distractor += any(_iou(result.box, d) >= 0.3 for d in scene.distractor_boxes(index))
        if found_at is None and index >= stop and visible and result.state.confident and overlap >= min_iou:
            found_at = index - stop
    return dict(found=found_at is not None and found_at < WITHIN, absent=absent, tracking_absent=tracking_absent,
                false=false, on_distractor=on_distractor, lost_ms=lost_ms, normal_ms=normal_ms)


def percentile(values: list, q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summarize(rows: list[dict]) -> dict:
    lost = [v for r in rows for v in r["lost_ms"]]
    normal = [v for r in rows for v in r["normal_ms"]]
    absent = sum(r["absent"] for r in rows)
    return dict(returns=len(rows), found=sum(r["found"] for r in rows) / len(rows),
                false=sum(r["false"] for r in rows) / len(rows),
                on_distractor=sum(r["on_distractor"] for r in rows),
                tracking_absent=sum(r["tracking_absent"] for r in rows) / max(1, absent),
                lost_ms=(percentile(lost, 50), percentile(lost, 90)), normal_ms=(percentile(normal, 50),
                                                                                 percentile(normal, 90)))


def quality(args: argparse.Namespace, checkpoint: LoadedCheckpoint) -> None:
    settings = list(itertools.product(args.gaps, args.speeds, args.distractors, args.modes))
    print(f"\n## Built-in demo model ({args.weights}), {args.frame_size[0]}x{args.frame_size[1]} frames, {args.params}, "
          f"{args.seeds} seeds per setting, re-acquired = confident and IoU >= {args.iou} within {WITHIN} frames")
    print("| reacquire | k | speed | distractors | leaves by | returns | re-acquired <= 10 | false re-acq. / return "
          "(on distractor) | tracking while absent | lost step ms median (p90) | normal step ms median (p90) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in args.reacquire:
        tracker = MixFormerV2Tracker.from_checkpoint(checkpoint, **{**args.params, "reacquire": mode})
        totals = []
        for gap, speed, distractors, leaves in settings:
            rows = []
            for seed in range(args.seeds):
                scene = SyntheticScene(seed=10_000 + seed, num_frames=LEAD + gap + TAIL, frame_size=args.frame_size,
                                       num_distractors=distractors, occlusion=False,
                                       speed=speed * min(args.frame_size), absences=[(LEAD, LEAD + gap)],
                                       absence_mode=leaves)
                rows.append(run_sequence(tracker, scene, LEAD + gap, args.iou))
            totals.extend(rows)
            print(_row(mode, gap, speed, distractors, leaves, summarize(rows)))
        print(_row(mode, "all", "", "", "", summarize(totals), bold=True))


def _row(mode, gap, speed, distractors, leaves, s: dict, bold: bool = False) -> str:
    b = "**" if bold else ""
    ratio = s["lost_ms"][0] / s["normal_ms"][0] if s["normal_ms"][0] > 0 else float("nan")
    return (f"| {mode} | {gap} | {speed} | {distractors} | {leaves} | {s['returns']} | {b}{100 * s['found']:.0f} %{b} "
            f"| {s['false']:.2f} ({s['on_distractor']}) | {b}{100 * s['tracking_absent']:.1f} %{b} | "
            f"{s['lost_ms'][0]:.1f} ({s['lost_ms'][1]:.1f}) | {s['normal_ms'][0]:.1f} ({s['normal_ms'][1]:.1f}) "
            f"[x{ratio:.2f}] |")


def cost(args: argparse.Namespace) -> None:
    """Steps of every setting interleaved frame by frame, so that a change of machine load hits all alike."""
    model = build_model("S").eval()
    scene = SyntheticScene(seed=1, num_frames=args.cost_frames + 4, frame_size=(480, 640))
    frames = [scene.render(i) for i in range(len(scene))]
    settings = [("normal step (reacquire off)", 1, dict(reacquire="off"))] + [
        ("lost (wide search)", cap, dict(reacquire="wide", reacquire_windows=cap, lost_threshold=1.0,
                                         reacquire_threshold=1.0, lost_after=1)) for cap in args.caps]
    trackers = [MixFormerV2Tracker(TorchBackend(model), resolve_params(model.config, **params))
                for _, _, params in settings]
    for tracker in trackers:
        tracker.initialize(frames[0], (280.0, 200.0, 80.0, 60.0))
    wall = [[] for _ in settings]
    cpu = [[] for _ in settings]
    for index, frame in enumerate(frames[1:]):
        for row, tracker in enumerate(trackers):
            start, start_cpu = time.perf_counter(), time.process_time()
            tracker.track(frame)
            if index >= 3:  # warm-up (and the first lost frames)
                wall[row].append(1e3 * (time.perf_counter() - start))
                cpu[row].append(1e3 * (time.process_time() - start_cpu))
    print(f"\n## Random-weight MixFormerV2-S, 480x640, torch CPU cached path, {args.cost_frames - 3} timed steps each, "
          "settings interleaved frame by frame")
    print("| setting | windows per step | wall ms median (p90) | x normal | CPU ms median | x normal |")
    print("|---|---|---|---|---|---|")
    base_wall, base_cpu = percentile(wall[0], 50), percentile(cpu[0], 50)
    for (name, windows, _), w, c in zip(settings, wall, cpu):
        print(f"| {name} | {windows} | {percentile(w, 50):.1f} ({percentile(w, 90):.1f}) | "
              f"{percentile(w, 50) / base_wall:.2f} | {percentile(c, 50):.1f} | {percentile(c, 50) / base_cpu:.2f} |")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reacquisition.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=str(DEMO_WEIGHTS))
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--gaps", type=int, nargs="+", default=[5, 15, 30], help="frames the target is gone (k)")
    parser.add_argument("--speeds", type=float, nargs="+", default=[0.01, 0.03],
                        help="target speed, fraction of the frame's short side per frame")
    parser.add_argument("--distractors", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--modes", nargs="+", default=["hidden", "exit"], help="how the target leaves")
    parser.add_argument("--reacquire", nargs="+", default=["wide", "off"])
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="tracker parameter for the quality runs, e.g. reacquire_windows=5 (repeatable)")
    parser.add_argument("--frame-size", type=int, nargs=2, default=[240, 320], metavar=("H", "W"))
    parser.add_argument("--iou", type=float, default=0.3)
    parser.add_argument("--caps", type=int, nargs="+", default=[1, 2, 3, 5], help="window caps timed with S")
    parser.add_argument("--cost-frames", type=int, default=30)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    return parser


def main(argv=None) -> int:
    """Fails as ``reacquisition.py: error: ...`` (exit 2), as the project's commands do."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.frame_size = tuple(args.frame_size)
    try:  # every setting a run will use, so that none fails after the runs before it
        args.params = {name: value if name == "reacquire" else float(value) if "." in value else int(value)
                       for name, value in (item.split("=", 1) for item in args.param)}
        for params in [args.params, *({**args.params, "reacquire": mode} for mode in args.reacquire),
                       *({"reacquire_windows": cap} for cap in args.caps)]:
            TrackerParams(**params).validate()
    except (TypeError, ValueError) as error:
        parser.error(f"bad --param, --reacquire or --caps: {error}")
    if args.seeds < 1 or not set(args.modes) <= set(ABSENCE_MODES):
        parser.error(f"--seeds takes N >= 1 and --modes some of {', '.join(ABSENCE_MODES)}, "
                     f"got {args.seeds} and {args.modes}")
    return run_command(parser.prog, lambda: run(args))


def run(args: argparse.Namespace) -> None:
    """The weights are read once, before anything is timed; every quality run's tracker is made from them."""
    checkpoint = None if args.skip_quality else read_checkpoint(args.weights)
    print(machine())
    if not args.skip_quality:
        quality(args, checkpoint)
    if not args.skip_cost:
        cost(args)
    print("\n" + machine())


if __name__ == "__main__":
    sys.exit(main())
