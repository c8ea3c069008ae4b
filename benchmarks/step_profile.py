"""Where one whole tracker step spends its time, per backend: crop, network (the runtime call alone and the
backend's own code around it), template updates, and the tracker's Python (box mapping, bookkeeping).

The tracker's own methods are wrapped with timers on one instance (no change to the library); the bare runtime
call is timed separately on the same inputs, so "backend overhead" = backend ``infer`` - bare runtime call.
All numbers are medians of per-step CPU (process) time and wall time (template updates: mean per step); S, random weights, 640x480 generated frames.

    python benchmarks/step_profile.py [--backends onnx-int8 openvino-int8] [--threads 1 2] [--steps 60]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mixformerv2_core import MultiTargetTracker, build_model, read_checkpoint, save_checkpoint  # noqa: E402
from mixformerv2_core.backends import available_backends  # noqa: E402
from mixformerv2_core.cli.runner import run_command, writable_dir  # noqa: E402
from mixformerv2_core.cpu_features import cpu_model_name, detect_cpu  # noqa: E402
from mixformerv2_core.synthetic import generate_sequence  # noqa: E402

PARTS = ("crop", "infer", "runtime", "templates", "step")


class Clock:
    """Accumulates wall and CPU seconds per part for the current step."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def wrap(self, part: str, function: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.wall[part] += time.perf_counter() - wall
                self.cpu[part] += time.process_time() - cpu
        return timed


def bare_runtime(backend: Any) -> Optional[Callable[[np.ndarray, np.ndarray], Any]]:
    """The runtime's own search call with the backend's inputs, or None for backends without one."""
    if hasattr(backend, "_search") and hasattr(backend._search, "run"):  # ONNX Runtime
        session = backend._search
        return lambda search, kv: session.run(None, {"search": search, "template_kv": kv})
    if hasattr(backend, "_request"):  # OpenVINO
        return lambda search, kv: backend._request(search.shape[0], kv.shape).infer(
            {"search": search, "template_kv": kv}, share_inputs=True)
    return None


def profile(tracker: MultiTargetTracker, frames: Sequence[np.ndarray], boxes: list, steps: int) -> dict:
    clock = Clock()
    crops = tracker._crops
    cut = crops.search_batch
    crops.search_batch = clock.wrap("crop", cut)
    backend = tracker.backend
    original_infer = backend.infer
    backend.infer = clock.wrap("infer", original_infer)
    backend.set_templates = clock.wrap("templates", backend.set_templates)
    tracker._template = clock.wrap("templates", tracker._template)
    step = clock.wrap("step", tracker.track)
    for key, box in enumerate(boxes):
        tracker.add(key, frames[0], box)
    rows: dict[str, list] = defaultdict(list)
    runtime = bare_runtime(backend)
    for index in range(steps + 3):
        clock.wall.clear()
        clock.cpu.clear()
        frame = frames[1 + index % (len(frames) - 1)]
        step(frame)
        if runtime is not None:  # the same inputs again, through the runtime alone
            keys = list(tracker._targets)
            search = cut(frame, [tracker._targets[k].last.search_window for k in keys])
            kv = backend._templates.batched(keys)
            wall, cpu = time.perf_counter(), time.process_time()
            runtime(search, kv)
            clock.wall["runtime"], clock.cpu["runtime"] = time.perf_counter() - wall, time.process_time() - cpu
        if index >= 3:
            for part in PARTS:
                rows[f"{part} wall"].append(clock.wall.get(part, 0.0))
                rows[f"{part} cpu"].append(clock.cpu.get(part, 0.0))
    # template updates happen every few frames: their mean is the cost per step, their median would be 0
    return {name: float((np.mean(values) if name.startswith("templates") else np.median(values)) * 1e3)
            for name, values in rows.items()}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Fails as ``step_profile.py: error: ...`` (exit 2), as the project's commands do."""
    parser = argparse.ArgumentParser(prog="step_profile.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx", "onnx-int8", "openvino", "openvino-int8"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--targets", type=int, default=1)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.backends) - set(available_backends()))
    if unknown:  # else it fails only after the backends before it have been profiled
        parser.error(f"unknown backends {unknown}; choose from {', '.join(available_backends())}")
    if min(*args.threads, args.targets, args.steps) < 1:
        parser.error("--threads, --targets and --steps take N >= 1")
    return run_command(parser.prog, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    if args.cache_dir:
        writable_dir(args.cache_dir)  # before the first backend's export, not at it
    print(f"{cpu_model_name()}, kind {detect_cpu().describe()}, load average {os.getloadavg()}")
    sequence = generate_sequence(seed=0, num_frames=40, frame_size=(480, 640))
    x, y, w, h = sequence.boxes[0]
    boxes = [(float(x), float(y), float(w), float(h))] + [(40.0 + 150 * i, 60.0, float(w), float(h))
                                                          for i in range(args.targets - 1)]
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        checkpoint = read_checkpoint(save_checkpoint(build_model("S"), Path(tmp) / "S.pt"))
        cache = str(args.cache_dir or Path(tmp) / "cache")
        print("| backend | threads | step | crop | infer | of which runtime | backend overhead | templates | "
              "tracker Python | (CPU ms, wall ms) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name in args.backends:
            for threads in args.threads:
                options: dict[str, Any] = {"threads": threads}
                if name != "torch":
                    options["cache_dir"] = cache
                else:
                    torch.set_num_threads(threads)
                tracker = MultiTargetTracker.from_checkpoint(checkpoint, backend=name, backend_options=options,
                                                             reacquire="off")  # the official tracker's work
                r = profile(tracker, sequence.frames, boxes, args.steps)
                cells = []
                for kind in ("cpu", "wall"):
                    rest = r[f"step {kind}"] - r[f"crop {kind}"] - r[f"infer {kind}"] - r[f"templates {kind}"]
                    overhead = r[f"infer {kind}"] - r[f"runtime {kind}"] if r[f"runtime {kind}"] else float("nan")
                    cells.append([r[f"step {kind}"], r[f"crop {kind}"], r[f"infer {kind}"], r[f"runtime {kind}"],
                                  overhead, r[f"templates {kind}"], rest])
                print(f"| {name} | {threads} | " + " | ".join(f"{c:.2f} / {wl:.2f}" for c, wl in zip(*cells)) + " | |",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
