"""One-pass evaluation runner: every sequence tracked from its first box, in parallel worker processes.

Writes the result files of :mod:`.results` per sequence, ``<out>/summary.json`` (per-sequence and overall
FPS, skipped and failed sequences) and, for GOT-10k / TrackingNet, the submission zip. Resumable: sequences
whose box file exists are skipped, and result files are written atomically (see :mod:`.results`).
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np

from .datasets import BenchmarkSequence
from ..atomic import atomic_write_text
from .results import SUBMISSIONS, TrackOutput, load_times, result_path, save_result
from .parent_watch import exit_with_parent
from .run_config import claim, describe


@dataclass(frozen=True)
class TrackerSpec:
    """Everything a worker process needs to build the same tracker (picklable)."""

    checkpoint: str
    variant: str | None = None
    backend: str = "torch"
    device: str = "cpu"
    precision: str | None = None  # backend precision (torch dtype name, ONNX fp32/int8); None = its default
    preset: str | None = None  # benchmark preset of the official scripts (see PRESETS)
    params: tuple[tuple[str, object], ...] = ()  # TrackerParams overrides, e.g. (("update_interval", 200),)
    threads: int | None = None  # torch intra-op threads per worker

    def resolved_params(self):
        """The ``TrackerParams`` that :meth:`build` gives (reads the checkpoint, builds no network)."""
        from mixformerv2_core.checkpoint import read_checkpoint
        from mixformerv2_core.tracker import resolve_params

        checkpoint = read_checkpoint(self.checkpoint, self.variant)
        return resolve_params(checkpoint.config, self.preset, checkpoint.tracker_defaults, **self._overrides())

    def _overrides(self) -> dict:
        # Benchmark numbers compare with the official toolkit's, so the official tracker (no re-acquisition)
        # runs unless the user asks for it, also on datasets without a preset (OTB, UAV123, NfS).
        return {"reacquire": "off", **dict(self.params)}

    def build(self):
        from mixformerv2_core import MixFormerV2Tracker

        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        return MixFormerV2Tracker.from_checkpoint(
            self.checkpoint, variant=self.variant, device=self.device, backend=self.backend, preset=self.preset,
            precision=self.precision, **self._overrides(),
        )


#: Tracker preset (search factor, update interval of the official test scripts) per dataset.
PRESETS = {"lasot": "lasot", "lasot_ext": "lasot", "got10k_val": "got10k_test", "got10k_test": "got10k_test",
           "trackingnet": "trackingnet", "tnl2k": "tnl2k"}


def read_frame(path: Path, color_order: str = "rgb") -> np.ndarray:
    """Read an image file as HxWx3 uint8 in ``color_order``; a missing or unreadable file is an error."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read frame {path}")
    return img[..., ::-1].copy() if color_order == "rgb" else img


def track_frames(tracker, frames: Iterable[np.ndarray], init_box: Sequence[float]) -> TrackOutput:
    """Initialise on the first frame with ``init_box`` and track the rest, timing each call."""
    boxes, times, scores = [], [], []
    for i, frame in enumerate(frames):
        start = time.perf_counter()
        if i == 0:
            tracker.initialize(frame, tuple(float(v) for v in init_box))
            box, score = tuple(float(v) for v in init_box), 1.0
        else:
            res = tracker.track(frame)
            box, score = res.box, res.score
        times.append(time.perf_counter() - start)
        boxes.append(box)
        scores.append(score)
    return TrackOutput(np.asarray(boxes, float).reshape(-1, 4), np.asarray(times, float), np.asarray(scores, float))


def track_sequence(tracker, seq: BenchmarkSequence, color_order: str = "rgb") -> TrackOutput:
    return track_frames(tracker, (read_frame(p, color_order) for p in seq.frames), seq.init_box)


# ---------------------------------------------------------------------------------------------- running

_WORKER_TRACKER = None


def _init_worker(spec: TrackerSpec, parent_pid: int | None = None) -> None:
    global _WORKER_TRACKER
    if parent_pid is not None:  # a worker process: it must not outlive the evaluation
        exit_with_parent(parent_pid)
    _WORKER_TRACKER = spec.build()


def _run_one(seq: BenchmarkSequence, out_dir: Path, color_order: str, result_format: str) -> tuple[str, int, float]:
    output = track_sequence(_WORKER_TRACKER, seq, color_order)
    save_result(out_dir, seq.name, output, result_format)
    return seq.name, len(output.times), float(output.times[1:].sum())


@dataclass
class RunSummary:
    sequences: dict[str, dict] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    overall_fps: float = float("nan")
    submission: str | None = None
    out_dir: str = ""  # where the results went (another folder than asked with new_folder)


def pending(sequences: Sequence[BenchmarkSequence], out_dir: Path) -> list[BenchmarkSequence]:
    return [s for s in sequences if not result_path(out_dir, s.name).exists()]


def run_sequences(
    spec: TrackerSpec,
    sequences: Sequence[BenchmarkSequence],
    out_dir: str | Path,
    workers: int = 1,
    color_order: str = "rgb",
    progress: bool = True,
    new_folder: bool = False,
    result_format: str = "decimals2",
    finish: bool = True,
    dataset: str | None = None,
) -> RunSummary:
    """Track every unfinished sequence (``workers`` processes; 1 = in this process) and write results.

    A sequence that raises is reported in ``failed`` and leaves no result file, so a rerun retries it.
    ``out_dir`` must be new or made with the same configuration (:mod:`.run_config`); ``new_folder`` moves
    on to the next free ``<out_dir>_<k>`` instead of refusing. ``finish=False`` (one shard of a larger run)
    leaves ``summary.json`` and the submission to :func:`finish_run` over all sequences; ``dataset`` names
    the benchmark when ``sequences`` may be empty (a shard with nothing to do).
    """
    dataset = dataset or (sequences[0].dataset if sequences else "")
    out_dir = claim(out_dir, describe(spec, dataset, result_format), new_folder)
    todo = pending(sequences, out_dir)
    todo_names = {s.name for s in todo}
    summary = RunSummary(skipped=[s.name for s in sequences if s.name not in todo_names], out_dir=str(out_dir))
    if todo and workers > 1:  # a bad checkpoint has failed in describe() already, not in every worker
        if spec.threads is None:  # N workers x all cores each would oversubscribe the CPU many times over
            spec = replace(spec, threads=max(1, (os.cpu_count() or 1) // workers))
    lengths = {s.name: len(s) for s in sequences}
    bar = _progress_bar(sum(lengths.values()), sum(lengths[n] for n in summary.skipped), progress)
    for name, result in _execute(spec, todo, out_dir, workers, color_order, result_format):
        if isinstance(result, BaseException):
            summary.failed[name] = f"{type(result).__name__}: {result}"
        bar.update(lengths[name])
        bar.set_postfix_str(name)
    bar.close()
    return finish_run(summary, sequences, out_dir) if finish else summary


def finish_run(summary: RunSummary, sequences: Sequence[BenchmarkSequence], out_dir: Path) -> RunSummary:
    """FPS of every finished sequence, the submission zip once all are finished, ``summary.json``."""
    _summarise(summary, sequences, out_dir)
    dataset = sequences[0].dataset if sequences else ""
    done = [s.name for s in sequences if result_path(out_dir, s.name).exists()]
    if dataset in SUBMISSIONS and len(done) == len(sequences):
        summary.submission = str(SUBMISSIONS[dataset](out_dir, done))
    atomic_write_text(out_dir / "summary.json", json.dumps(asdict(summary), indent=2, default=float))
    return summary


def _execute(spec, todo, out_dir, workers, color_order, result_format) -> Iterator[tuple[str, object]]:
    if not todo:
        return
    if workers <= 1:
        _init_worker(spec)
        for seq in todo:
            try:
                yield seq.name, _run_one(seq, out_dir, color_order, result_format)
            except Exception as exc:  # one broken sequence must not stop the others
                yield seq.name, exc
        return
    ctx = get_context("spawn")  # torch and fork do not mix
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(spec, os.getpid())) as pool:
        futures = {pool.submit(_run_one, seq, out_dir, color_order, result_format): seq.name for seq in todo}
        for fut in as_completed(futures):
            exc = fut.exception()
            yield futures[fut], exc if exc is not None else fut.result()


def _summarise(summary: RunSummary, sequences: Sequence[BenchmarkSequence], out_dir: Path) -> None:
    total_frames, total_time = 0, 0.0
    for seq in sequences:
        times = load_times(out_dir, seq.name)
        if times is None or not result_path(out_dir, seq.name).exists():
            continue
        tracked, seconds = len(times) - 1, float(times[1:].sum())
        total_frames += tracked
        total_time += seconds
        summary.sequences[seq.name] = {
            "frames": len(times),
            "fps": tracked / seconds if seconds > 0 else float("nan"),
            "init_seconds": float(times[0]),
        }
    summary.overall_fps = total_frames / total_time if total_time > 0 else float("nan")


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="frame", unit_scale=True, disable=not enabled, desc="evaluation")
