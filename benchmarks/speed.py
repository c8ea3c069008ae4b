"""Side-by-side speed of the MixFormerV2 tracker step on this machine, all paths in one run on the same frames.

Paths (each a whole tracker step on a 640x480 frame: crops, network, box mapping, template bookkeeping):
  official-equivalent  reference crop (geometry.sample_target) + full forward every frame, PyTorch fp32
  official track()     the official repository's tracker, only with --official-repo PATH (one per target)
  cached torch fp32    fused crop + template keys/values cached, PyTorch
  ORT fp32             fused crop + ONNX Runtime graphs
  ORT INT8 w7 / w8     the same, INT8 (dynamic, per-channel weights in 7 or 8 bits: both recipes side by side;
                       the one this CPU's kind gets by default is marked)
  OpenVINO fp32 / INT8 the same exported graphs run by OpenVINO (INT8: NNCF static quantization)
  cached torch bf16    fused crop + cached path in bfloat16 (emulated unless the CPU has native bf16)

Timing is interleaved (one step of every path per round) so that load from other processes spreads over all
paths alike; CPU time per step is printed next to wall time because it is less sensitive to such load.
Also measured: the accuracy cost of INT8/BF16 as mean IoU of their boxes against fp32 boxes.
Random weights unless --weights-S / --weights-B are given. Targets live here, not in timed tests.

    python benchmarks/speed.py                       # S and B, batch 1 and 4
    python benchmarks/speed.py --variants S --batches 1 --steps 10 --official-repo ~/MixFormerV2
    python benchmarks/speed.py --quick               # under a minute: S, 1 target, ratio to official and FPS
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

# Before torch loads OpenMP: busy-waiting worker threads make PyTorch several times slower on a machine
# whose cores are shared (measured here: S cached step 100 ms -> 490 ms CPU with 2 threads). This helps
# the official-equivalent baseline as much as our PyTorch path; ONNX Runtime sessions do not spin either.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mixformerv2_core import MultiTargetTracker, build_model, read_checkpoint, save_checkpoint  # noqa: E402
from mixformerv2_core.backends import create_backend  # noqa: E402
from mixformerv2_core.backends.bundle_cache import default_cache_root  # noqa: E402
from mixformerv2_core.cli.runner import run_command, writable_dir, writable_file  # noqa: E402
from mixformerv2_core.cpu_features import detect_cpu  # noqa: E402
from mixformerv2_core.errors import InputError  # noqa: E402
from mixformerv2_core.export.quantize import SAFE_RECIPE, VNNI_RECIPE, recipe_for_cpu  # noqa: E402
from mixformerv2_core.checkpoint import LoadedCheckpoint, save_official_format  # noqa: E402
from mixformerv2_core.geometry import box_iou, clip_box, crop_window, map_box_back, sample_target  # noqa: E402
from mixformerv2_core.preprocessing import crop_and_normalize, normalize_crop  # noqa: E402
from mixformerv2_core.synthetic import generate_sequence  # noqa: E402
from mixformerv2_core.tracker import resolve_params  # noqa: E402

OFFICIAL_EQUIVALENT = "official-equivalent (full fwd, torch fp32)"
OFFICIAL_CODE = "official track()"
OFFICIAL_REACQUIRE = "off"  # every path does the official tracker's work: no wide search for lost targets
RECIPE_PATHS = {SAFE_RECIPE: "ORT INT8 w7", VNNI_RECIPE: "ORT INT8 w8"}
QUICK_PATHS = (OFFICIAL_EQUIVALENT, RECIPE_PATHS[recipe_for_cpu()], "OpenVINO INT8")
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


# ------------------------------------------------------------------------------------------------ machine


def machine_description() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                            "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        info["onnxruntime"] = None
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
        info["cpu_model"] = fields.get("Model name", "").strip()
        info["cpu_family_model"] = f"{fields.get('CPU family', '').strip()}/{fields.get('Model', '').strip()}"
        flags = set(fields.get("Flags", "").split())
        info["cpu_flags"] = {flag: flag in flags for flag in CPU_FLAGS}
        info["hypervisor"] = fields.get("Hypervisor vendor", "").strip() or None
    except (OSError, subprocess.CalledProcessError):
        info["cpu_model"] = platform.processor()
    info["native_bf16"] = bool(info.get("cpu_flags", {}).get("avx512_bf16") or info.get("cpu_flags", {}).get("amx_bf16"))
    info["cpu_kind"] = detect_cpu().describe()
    info["int8_recipe"] = recipe_for_cpu()
    try:
        import openvino

        info["openvino"] = openvino.__version__
    except ImportError:
        info["openvino"] = None
    info["load_average"] = os.getloadavg()
    return info


# ------------------------------------------------------------------------------------------------ trackers


class ReferenceCropTracker(MultiTargetTracker):
    """Our tracker with the official crop path (a fresh patch + resize + normalise per crop)."""

    def _crop(self, frame, box, factor, size, out=None):
        window = crop_window(box, factor, size)
        return normalize_crop(sample_target(frame, window), self.params.color_order, out), window


def import_official(repo: Path) -> Callable[..., Any]:
    """The official tracker class from a user's checkout, made to run on a CPU-only PyTorch.

    Its ``.cuda()`` calls become no-ops, and modules it imports only for training get empty stand-ins.
    """
    repo = Path(repo).expanduser().resolve()
    if not (repo / "lib" / "test" / "tracker" / "mixformer2_vit_online.py").is_file():
        raise InputError(f"--official-repo {repo} is not a MixFormerV2 checkout")
    for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional", "torchvision.ops",
                 "torchvision.ops.boxes", "tensorboardX", "jpeg4py"):
        try:
            __import__(name)
        except ImportError:
            module = types.ModuleType(name)
            module.__path__ = []
            sys.modules[name] = module
    stand_in = sys.modules["torchvision"]
    if not hasattr(stand_in, "__version__"):  # only the version check and box_area are used on the tracking path
        stand_in.__version__ = "0.8.1"
        sys.modules["torchvision.ops.boxes"].box_area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    if not hasattr(sys.modules["tensorboardX"], "SummaryWriter"):
        sys.modules["tensorboardX"].SummaryWriter = object
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    sys.path.insert(0, str(repo))
    from lib.test.tracker.mixformer2_vit_online import MixFormerOnline

    return MixFormerOnline


class OfficialTrackers:
    """One official tracker per target (the official code tracks one object per tracker)."""

    YAML = {"S": "224_depth4_mlp1_score", "B": "288_depth8_score"}

    def __init__(self, tracker_class, repo: Path, variant: str, weights: Path, search_factor: float) -> None:
        from lib.config.mixformer2_vit_online.config import cfg, update_config_from_file
        from lib.test.utils import TrackerParams

        update_config_from_file(str(Path(repo).expanduser() / "experiments" / "mixformer2_vit_online" / f"{self.YAML[variant]}.yaml"))
        params = TrackerParams()
        params.cfg = cfg
        params.template_factor, params.template_size = cfg.TEST.TEMPLATE_FACTOR, cfg.TEST.TEMPLATE_SIZE
        params.search_factor, params.search_size = search_factor, cfg.TEST.SEARCH_SIZE
        params.checkpoint, params.save_all_boxes, params.debug = str(weights), False, 0
        self._make = lambda: tracker_class(params, "lasot")
        self._trackers: list = []

    def add(self, frame: np.ndarray, box: Sequence[float]) -> None:
        tracker = self._make()
        tracker.initialize(frame, {"init_bbox": list(map(float, box))})
        self._trackers.append(tracker)

    def track(self, frame: np.ndarray) -> list:
        return [tracker.track(frame)["target_bbox"] for tracker in self._trackers]


# ------------------------------------------------------------------------------------------------ timing


@dataclass
class Timings:
    wall: list = field(default_factory=list)
    cpu: list = field(default_factory=list)

    def row(self, batch: int) -> dict[str, float]:
        wall_ms = np.array(self.wall) * 1e3
        median = float(np.median(wall_ms))
        return {"median_ms": median, "p90_ms": float(np.percentile(wall_ms, 90)), "cpu_ms": float(np.median(self.cpu) * 1e3),
                "steps_per_s": 1e3 / median, "targets_per_s": batch * 1e3 / median, "samples": len(self.wall)}


def initial_boxes(first_box: np.ndarray, count: int, height: int, width: int) -> list:
    """The generated object's box, then copies shifted over the frame for more targets."""
    x, y, w, h = first_box
    shifts = [(0, 0), (-150, -90), (150, 90), (150, -90), (-150, 90), (0, 150), (0, -150), (200, 0)]
    boxes = []
    for dx, dy in shifts[:count]:
        boxes.append((float(np.clip(x + dx, 0, width - w - 1)), float(np.clip(y + dy, 0, height - h - 1)), float(w), float(h)))
    return boxes


def measure(steppers: dict[str, Callable[[np.ndarray], Any]], frames: Sequence[np.ndarray], steps: int,
            passes: int, slow: set, slow_steps: int) -> dict[str, Timings]:
    """Each pass runs every path for a block of steps (after one untimed step); passes alternate the order.

    Blocks rather than step-by-step interleaving: thread pools of one library that are still spinning
    would otherwise steal the cores from the next path. Alternating passes spread slow load drift.
    """
    timings = {name: Timings() for name in steppers}
    names = list(steppers)
    frame_index = 1
    for pass_index in range(passes):
        for name in names if pass_index % 2 == 0 else names[::-1]:
            count = max(1, (slow_steps if name in slow else steps) // passes)
            for step_index in range(count + 1):
                frame = frames[frame_index]
                frame_index = frame_index + 1 if frame_index + 1 < len(frames) else 1
                wall, cpu = time.perf_counter(), time.process_time()
                steppers[name](frame)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if step_index:
                    timings[name].wall.append(wall)
                    timings[name].cpu.append(cpu)
    return timings


# ------------------------------------------------------------------------------------------------ accuracy


def precision_agreement(checkpoint: LoadedCheckpoint, backend: str, options: dict, frames: Sequence[np.ndarray],
                        init_box: Sequence[float], precision: Optional[str] = None) -> dict[str, float]:
    """Mean IoU of reduced-precision boxes against fp32 boxes.

    same-input: the reduced network gets exactly the fp32 tracker's crops each frame (judges the network);
    closed-loop: an independent tracker with the reduced backend (judges the whole trajectory).
    """
    fp32 = MultiTargetTracker.from_checkpoint(checkpoint, backend="torch", reacquire=OFFICIAL_REACQUIRE)
    other = MultiTargetTracker.from_checkpoint(checkpoint, backend=backend, precision=precision, backend_options=options,
                                               reacquire=OFFICIAL_REACQUIRE)
    params, config = fp32.params, fp32.config
    engine = create_backend(backend, checkpoint, precision=precision, **options)
    template, _ = crop_and_normalize(frames[0], init_box, params.template_factor, config.template_size, params.color_order)
    engine.set_templates(0, template, template)
    fp32.add(0, frames[0], init_box)
    other.add(0, frames[0], init_box)
    same, closed = [], []
    for frame in frames[1:]:
        previous = fp32.last_result(0).box
        reference = fp32.track(frame)[0].box
        search, window = crop_and_normalize(frame, previous, params.search_factor, config.search_size, params.color_order)
        pred = engine.infer([0], search[None]).pred_boxes[0]
        box = clip_box(map_box_back(pred, previous, window.size), frame.shape[0], frame.shape[1], params.clip_margin)
        same.append(box_iou(reference, box))
        closed.append(box_iou(reference, other.track(frame)[0].box))
    return {"same_input_mean_iou": float(np.mean(same)), "same_input_min_iou": float(np.min(same)),
            "closed_loop_mean_iou": float(np.mean(closed)), "frames": len(same)}


# ------------------------------------------------------------------------------------------------ main


def preprocessing_times(frame: np.ndarray, box: Sequence[float], factor: float, size: int, repeats: int = 200) -> dict:
    out = np.empty((3, size, size), dtype=np.float32)
    window = crop_window(box, factor, size)
    results = {}
    for name, run in (("reference crop", lambda: normalize_crop(sample_target(frame, window), "rgb", out)),
                      ("fused crop", lambda: crop_and_normalize(frame, box, factor, size, "rgb", out))):
        run()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        results[name] = float(np.median(times) * 1e3)
    return results


def run_variant(variant: str, args: argparse.Namespace, workdir: Path, official_class) -> dict[str, Any]:
    torch.manual_seed(0)
    weights = getattr(args, f"weights_{variant}")
    if weights:
        checkpoint = args.checkpoints[variant]  # read up front
    else:
        checkpoint = read_checkpoint(save_checkpoint(build_model(variant), workdir / f"random_{variant}.pt"))
    sequence = generate_sequence(seed=args.seed, num_frames=args.frames, frame_size=(480, 640))
    frames = sequence.frames
    params = resolve_params(checkpoint.config, reacquire=OFFICIAL_REACQUIRE)
    ort_options = {"threads": args.threads, "cache_dir": str(args.cache_dir or workdir / "onnx")}
    start = time.perf_counter()

    def exported(backend: str, **extra: Any) -> Callable[[], Any]:
        return lambda: MultiTargetTracker(create_backend(backend, checkpoint, **ort_options, **extra), params)

    makers: dict[str, Callable[[], Any]] = {
        OFFICIAL_EQUIVALENT: lambda: ReferenceCropTracker(create_backend("torch", checkpoint, use_cache=False), params),
        "cached torch fp32": lambda: MultiTargetTracker(create_backend("torch", checkpoint), params),
        "ORT fp32": exported("onnx"),
        **{name: exported("onnx-int8", int8_recipe=recipe) for recipe, name in RECIPE_PATHS.items()},
        "OpenVINO fp32": exported("openvino"),
        "OpenVINO INT8": exported("openvino-int8"),
        "cached torch bf16": lambda: MultiTargetTracker(create_backend("torch", checkpoint, precision="bfloat16"), params),
    }
    if args.quick:
        makers = {name: make for name, make in makers.items() if name in QUICK_PATHS}
    if args.paths:
        makers = {name: make for name, make in makers.items() if name == OFFICIAL_EQUIVALENT or name in args.paths}
    makers = {name: make for name, make in makers.items() if not args.skip or not any(s in name for s in args.skip)}
    if official_class is not None:
        official_weights = save_official_format(create_backend("torch", checkpoint).model, workdir / f"official_{variant}.pth.tar")
        makers = {OFFICIAL_CODE: lambda: OfficialTrackers(official_class, args.official_repo, variant, official_weights,
                                                          params.search_factor), **makers}
    trackers = {name: make() for name, make in makers.items()}
    setup_s = time.perf_counter() - start
    result: dict[str, Any] = {"variant": variant, "weights": str(weights) if weights else "random (seed 0)",
                              "search_factor": params.search_factor, "setup_s": setup_s, "batches": {}}
    slow = {"cached torch bf16"} if not args.native_bf16 else set()
    for batch in args.batches:
        boxes = initial_boxes(sequence.boxes[0], batch, 480, 640)
        steppers = {}
        for name, tracker in trackers.items():
            if isinstance(tracker, OfficialTrackers):
                tracker._trackers = []
                for box in boxes:
                    tracker.add(frames[0], box)
            else:
                tracker.reset()
                for target_id, box in enumerate(boxes):
                    tracker.add(target_id, frames[0], box)
            steppers[name] = tracker.track
        steps = args.steps if variant == "S" else max(args.passes, args.steps // 2)
        timings = measure(steppers, frames, steps, args.passes, slow, args.slow_steps)
        result["batches"][batch] = {name: timing.row(batch) for name, timing in timings.items()}
        print_table(variant, batch, result["batches"][batch])
    result["preprocessing_ms"] = preprocessing_times(frames[1], sequence.boxes[0], params.search_factor,
                                                     checkpoint.config.search_size)
    print(f"search crop ({variant}), median ms: {json.dumps(result['preprocessing_ms'])}")
    if args.accuracy_frames:
        acc_frames = frames[: args.accuracy_frames + 1]
        reduced = {name: ("onnx-int8", dict(ort_options, int8_recipe=recipe)) for recipe, name in RECIPE_PATHS.items()}
        reduced["OpenVINO INT8"] = ("openvino-int8", ort_options)
        result["accuracy"] = {name: precision_agreement(checkpoint, backend, options, acc_frames, sequence.boxes[0])
                              for name, (backend, options) in reduced.items() if name in trackers}
        if "cached torch bf16" in trackers:
            result["accuracy"]["cached torch bf16"] = precision_agreement(
                checkpoint, "torch", {}, acc_frames[: args.bf16_accuracy_frames + 1], sequence.boxes[0],
                precision="bfloat16")
        print(f"accuracy against fp32 ({variant}): {json.dumps(result['accuracy'], indent=1)}")
    return result


def print_table(variant: str, batch: int, rows: dict[str, dict[str, float]]) -> None:
    """Markdown table; speed-ups are given by wall time and by CPU time (the latter resists outside load)."""
    reference = OFFICIAL_CODE if OFFICIAL_CODE in rows else OFFICIAL_EQUIVALENT
    base = rows.get(reference)
    print(f"\nMixFormerV2-{variant}, {batch} target(s) per frame, whole tracker step on 640x480; ratios to {reference}"
          f"; this CPU's INT8 recipe: {RECIPE_PATHS[recipe_for_cpu()]}")
    print("| path | median ms | p90 ms | CPU ms | steps/s | targets/s | x wall | x CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        wall_ratio = f"{base['median_ms'] / row['median_ms']:.2f}" if base else "-"
        cpu_ratio = f"{base['cpu_ms'] / row['cpu_ms']:.2f}" if base else "-"
        print(f"| {name} | {row['median_ms']:.1f} | {row['p90_ms']:.1f} | {row['cpu_ms']:.1f} | {row['steps_per_s']:.1f} "
              f"| {row['targets_per_s']:.1f} | {wall_ratio} | {cpu_ratio} |")
    sys.stdout.flush()


def print_quick_summary(rows: dict[str, dict[str, float]]) -> None:
    reference = OFFICIAL_CODE if OFFICIAL_CODE in rows else OFFICIAL_EQUIVALENT
    best = min((name for name in rows if name != reference), key=lambda name: rows[name]["median_ms"])
    ratio = rows[reference]["median_ms"] / rows[best]["median_ms"]
    print(f"\nS, 1 target, whole step: {best} {rows[best]['steps_per_s']:.1f} FPS ({rows[best]['median_ms']:.1f} ms), "
          f"{reference} {rows[reference]['steps_per_s']:.1f} FPS: {ratio:.2f}x")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speed.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["S", "B"], choices=["S", "B"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--steps", type=int, default=30, help="timed steps per path and batch (B: half)")
    parser.add_argument("--passes", type=int, default=2, help="blocks per path, in alternating order")
    parser.add_argument("--slow-steps", type=int, default=4, help="timed steps for emulated bf16")
    parser.add_argument("--frames", type=int, default=60, help="length of the generated sequence")
    parser.add_argument("--accuracy-frames", type=int, default=40, help="frames for the INT8 accuracy check (0: skip)")
    parser.add_argument("--bf16-accuracy-frames", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights-S", dest="weights_S", type=Path, default=None)
    parser.add_argument("--weights-B", dest="weights_B", type=Path, default=None)
    parser.add_argument("--official-repo", type=Path, default=None, help="a checkout of MCG-NJU/MixFormerV2 to time too")
    parser.add_argument("--cache-dir", type=Path, default=None, help="reuse ONNX bundles across runs")
    parser.add_argument("--skip", nargs="*", default=[], help="skip paths whose name contains one of these")
    parser.add_argument("--paths", nargs="*", default=[], help="time only these paths (and the reference)")
    parser.add_argument("--json", type=Path, default=None, help="write all results here")
    parser.add_argument("--quick", action="store_true",
                        help="S, 1 target, few steps, the official reference and this CPU's fastest paths, no accuracy "
                             "check; bundles cached in the user's cache so that later runs start at once")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Fails as ``speed.py: error: ...`` (exit 2), as the project's commands do."""
    parser = build_parser()
    args = parser.parse_args(argv)
    counts = [*args.batches, args.threads, args.steps, args.passes, args.slow_steps, args.bf16_accuracy_frames]
    if min(counts) < 1 or args.frames < 2 or args.accuracy_frames < 0:  # else a traceback after minutes of timing
        parser.error("--batches, --threads, --steps, --passes, --slow-steps and --bf16-accuracy-frames take N >= 1, "
                     "--frames N >= 2 and --accuracy-frames N >= 0")
    return run_command(parser.prog, lambda: run(args))


def check_inputs(args: argparse.Namespace) -> Optional[Callable[..., Any]]:
    """Outputs are checked and each weights file of a variant that runs is read once, before any timing (a wrong
    --weights-B used to end the run after all of S); returns the official tracker class, None without a checkout.
    """
    if args.json:
        writable_file(args.json)
    if args.cache_dir:
        writable_dir(args.cache_dir)
    args.checkpoints = {variant: read_checkpoint(getattr(args, f"weights_{variant}"), variant)
                        for variant in args.variants if getattr(args, f"weights_{variant}")}
    return import_official(args.official_repo) if args.official_repo else None


def run(args: argparse.Namespace) -> int:
    if args.quick:
        args.variants, args.batches, args.accuracy_frames = ["S"], [1], 0
        args.steps, args.passes, args.frames = min(args.steps, 12), 2, min(args.frames, 30)
        args.cache_dir = args.cache_dir or default_cache_root()
    official_class = check_inputs(args)
    torch.set_num_threads(args.threads)
    machine = machine_description()
    args.native_bf16 = machine["native_bf16"]
    if args.quick:
        print(f"{machine.get('cpu_model')} ({machine['cpu_kind']}), {args.threads} threads, load average "
              f"{tuple(round(v, 1) for v in machine['load_average'])}")
    else:
        print(json.dumps(machine, indent=1))
    if official_class is None:
        print(f"\nNo --official-repo given: ratios are to '{OFFICIAL_EQUIVALENT}', our network's full forward "
              "with the reference crop (within 1-5% of the official track() in CPU time, docs/performance.md).")
    results = {"machine": machine, "threads": args.threads, "variants": []}
    with tempfile.TemporaryDirectory(prefix="mixformerv2_speed_") as tmp:
        for variant in args.variants:
            results["variants"].append(run_variant(variant, args, Path(tmp), official_class))
    results["load_average_end"] = os.getloadavg()
    if args.quick:
        print_quick_summary(results["variants"][0]["batches"][1])
    print(f"\nload average at start {machine['load_average']}, at end {results['load_average_end']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
