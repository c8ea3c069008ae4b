"""Trackers on the labelled real clips (data/real_clips/, docs/demo_model.md) and, with --real-texture N, on
held-out real-texture scenes: OPE success AUC (21 IoU thresholds, frame 0 excluded), precision at 20 px, mean
IoU and speed per tracker, median and p90 over sequences, and the ROC AUC of each tracker's confidence as a
test for tracked frames (IoU > 0.5), pooled over sequences.

With --one-step, each step starts from the previous frame's label instead (the tracker's box is placed there,
its templates stay the first frame's): how well a network localises frame to frame, apart from drift that builds
up; reported per sequence are the median IoU and the mean log ratios of width and height to the label's (a bias
toward square or growing boxes shows there). MixFormerV2 trackers only, with re-acquisition "off" so that every
step's box is the network's; the static box's row is the previous frame's label. Each frame is also tracked from
the label scaled by 2/3 and by 3/2 about its centre, and from the label moved by -0.4 and +0.4 of its width and
height (these probes run first, so that the tracker carries on from the label's own step). The "size slope" is
the fitted slope of log(box size / label's size) against log(scale), the "position slope" that of the centre's
error (in label widths and heights, x and y averaged) against the move. 0 means the network measures the
target, 1 that it returns the box it was placed with: a network near 1 does not look at the frame, and as a
tracker it has nothing that pulls an error back.

With --starts N, each clip is also tracked from N - 1 later frames, evenly spaced, each run given the label of
its first frame (the temporal robustness evaluation of OTB); a clip's numbers are then the mean over its starts.
One run per clip decides a clip by whether the target is lost once; the mean over starts moves less between
two sets of weights that differ little. The held-out scenes are run once each (there are many).

Trackers: the built-in demo model on the torch backend (fp32) and on the default INT8 backend (onnx-int8),
any --weights given, OpenCV's CSRT and KCF, and a box that stays where it started. CSRT and KCF live in
opencv-contrib-python-headless, a benchmark-only dependency kept out of .venv (requirements/benchmark-only/):
this script loads it from --opencv-contrib before anything imports cv2. The tracker options the other commands
share (--tight-search-factor, --search-factor, --preset, ...) apply to every MixFormerV2 tracker of a run, so
that one set of weights can be compared under other settings.

    scripts/fetch_training_data.sh --opencv-doc-only --opencv-contrib   # the clips' package, CSRT and KCF
    .venv/bin/python benchmarks/real_video.py [--trackers demo,demo-int8,csrt,kcf,static] [--json out.json]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTRIB_DEFAULT = REPO / "data" / "registry" / "opencv-contrib"
TRACKERS = ("demo", "demo-int8", "csrt", "kcf", "static")
PROG = "real_video.py"


def _parser(tracker_options: bool = True) -> argparse.ArgumentParser:
    """``tracker_options`` imports the project (and with it cv2): leave them out to read --opencv-contrib first."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, add_help=tracker_options,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trackers", default=",".join(TRACKERS),
                        help=f"comma-separated, from {', '.join(TRACKERS)} (default: all)")
    parser.add_argument("--weights", action="append", default=[], metavar="NAME=PATH",
                        help="also run these weights on the torch backend (repeatable)")
    parser.add_argument("--teacher", action="append", default=[], metavar="NAME=PATH",
                        help="also run this MixViT teacher (a route's first stage) on its full forward, at the search factor "
                             "saved with it (files without one: the tracker's default) (repeatable)")
    parser.add_argument("--clips", default="", help="comma-separated clip names (default: every labelled clip)")
    parser.add_argument("--max-frames", type=int, default=None, help="at most this many frames per clip")
    parser.add_argument("--real-texture", type=int, default=0, metavar="N",
                        help="also N held-out real-texture scenes (held-out seeds and photos; needs every registry source)")
    parser.add_argument("--scene-size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"))
    parser.add_argument("--scene-frames", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="torch and OpenCV threads (default 2)")
    parser.add_argument("--opencv-contrib", type=Path, default=CONTRIB_DEFAULT,
                        help="folder holding opencv-contrib-python-headless (pip install --target)")
    parser.add_argument("--one-step", action="store_true",
                        help="start every step from the previous frame's label (localisation without drift)")
    parser.add_argument("--starts", type=int, default=1, metavar="N",
                        help="track each clip from N evenly spaced frames and average (default 1: frame 0 only)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--score-curves", type=Path, default=None, metavar="PNG",
                        help="also plot each tracker's score ROC (held-out scenes when run, else the clips) here")
    if tracker_options:  # for every MixFormerV2 tracker: demo, --weights, --teacher
        from mixformerv2_core.cli.tracker_options import add_tracker_options

        add_tracker_options(parser)
    return parser


def _parse(argv=None) -> argparse.Namespace:
    return _parser().parse_args(argv)


def tracker_settings_given(args: argparse.Namespace) -> dict:
    """The tracker settings the user set (``--preset`` included), checked before anything is loaded."""
    from mixformerv2_core.cli.tracker_options import tracker_overrides
    from mixformerv2_core.errors import InputError
    from mixformerv2_core.tracker import TRACKER_PRESETS, TrackerParams

    given = tracker_overrides(args)
    TrackerParams(**given).validate()
    known = {"", "default", *(name for presets in TRACKER_PRESETS.values() for name in presets)}
    if args.preset is not None and args.preset not in known:
        raise InputError(f"unknown --preset {args.preset!r}; choose from {sorted(known - {''})}")
    return {**given, **({"preset": args.preset} if args.preset is not None else {})}


def main(argv=None) -> int:
    """Fails as ``real_video.py: error: ...`` with exit status 2, as the project's commands do."""
    parser = _parser(tracker_options=False)
    args, _ = parser.parse_known_args(argv)  # nothing has imported cv2 yet
    wanted = [name for name in args.trackers.split(",") if name]
    unknown = sorted(set(wanted) - set(TRACKERS))
    if unknown:
        parser.error(f"unknown trackers {unknown}; choose from {', '.join(TRACKERS)}")
    if args.one_step and {"csrt", "kcf"} & set(wanted):
        print("real_video.py: --one-step leaves out csrt and kcf (an OpenCV tracker's box cannot be placed)")
        wanted = [name for name in wanted if name not in ("csrt", "kcf")]
    if args.starts < 1 or (args.starts > 1 and args.one_step):
        parser.error(f"--starts takes N >= 1 and has no meaning with --one-step, got {args.starts}")
    if {"csrt", "kcf"} & set(wanted):
        if not (args.opencv_contrib / "cv2").is_dir():
            parser.error(f"CSRT/KCF need opencv-contrib-python-headless in {args.opencv_contrib}: "
                         "run scripts/fetch_training_data.sh --opencv-contrib, or leave csrt,kcf out of --trackers")
        sys.path.insert(0, str(args.opencv_contrib))  # before the project imports cv2
    from mixformerv2_core.cli.runner import run_command

    return run_command(PROG, lambda: run(_parse(argv), wanted))


class _OpenCVTracker:
    """CSRT or KCF behind the project's initialize/track interface (RGB frames in, x, y, w, h out)."""

    def __init__(self, kind: str) -> None:
        import cv2

        self._cv2 = cv2
        self._tracker = cv2.TrackerCSRT_create() if kind == "csrt" else cv2.TrackerKCF_create()
        self._box = (0.0, 0.0, 0.0, 0.0)

    def initialize(self, frame, box) -> None:
        self._box = tuple(float(v) for v in box)
        bgr = self._cv2.cvtColor(frame, self._cv2.COLOR_RGB2BGR)
        self._tracker.init(bgr, tuple(int(round(v)) for v in box))

    def track(self, frame):
        from types import SimpleNamespace

        ok, box = self._tracker.update(self._cv2.cvtColor(frame, self._cv2.COLOR_RGB2BGR))
        if ok:  # a failed update keeps the last box, as the node's "lost" state does
            self._box = tuple(float(v) for v in box)
        return SimpleNamespace(box=self._box, score=1.0 if ok else 0.0)


class _StaticBox:
    """The box that stays where it started: what any tracker must beat."""

    def initialize(self, frame, box) -> None:
        self.place(box)

    def place(self, box) -> None:
        self._box = tuple(float(v) for v in box)

    def track(self, frame):
        from types import SimpleNamespace

        return SimpleNamespace(box=self._box, score=1.0)


def _factories(args, wanted: list[str], **params) -> dict:
    """A maker per tracker; ``params`` go to every MixFormerV2 tracker. Each file given is read here, so that a
    wrong path fails before minutes of tracking rather than after.
    """
    from mixformerv2_core import MixFormerV2Tracker, load_tracker, read_checkpoint
    from mixformerv2_core.demo_model import DEMO_WEIGHTS
    from mixformerv2_core.errors import InputError

    makers = {
        "demo": lambda: load_tracker(str(DEMO_WEIGHTS), **params),
        "demo-int8": lambda: load_tracker(str(DEMO_WEIGHTS), backend="onnx-int8", **params),
        "csrt": lambda: _OpenCVTracker("csrt"),
        "kcf": lambda: _OpenCVTracker("kcf"),
        "static": _StaticBox,
    }
    chosen = {name: makers[name] for name in wanted}
    for item in args.weights:
        name, sep, path = item.partition("=")
        if not sep:
            raise InputError(f"--weights takes NAME=PATH, got {item!r}")
        checkpoint = read_checkpoint(path)  # once, not once per sequence
        chosen[name] = lambda checkpoint=checkpoint: MixFormerV2Tracker.from_checkpoint(checkpoint, **params)
    for item in args.teacher:
        name, sep, path = item.partition("=")
        if not sep:
            raise InputError(f"--teacher takes NAME=PATH, got {item!r}")
        from mixformerv2_training.synthetic_eval import teacher_tracker

        chosen[name] = lambda path=path: teacher_tracker(path, **params)  # at the factor saved with it
        chosen[name]()
    return chosen


def _percentile(values, q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def _evaluate(makers: dict, sequences: dict, curves: dict) -> dict:
    """``{tracker: {sequence: numbers}}`` for ``sequences`` ``{name: (frames, boxes)}`` (first box given);
    each tracker's score curve, pooled over the sequences, goes into ``curves``.
    """
    import numpy as np

    from mixformerv2_core.evaluation.metrics import sequence_errors, success_curve
    from mixformerv2_core.evaluation.score_curve import score_curve
    from mixformerv2_core.evaluation.runner import track_frames

    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, make in makers.items():
        results[name] = {}
        scores, ious = [], []
        for sequence, (frames, gt) in sequences.items():
            out = track_frames(make(), frames, gt[0])
            errors = sequence_errors(out.boxes, gt, name=sequence)
            step_ms = np.asarray(out.times[1:]) * 1000.0
            results[name][sequence] = {
                "auc": float(success_curve(errors.ious[1:]).mean()),
                "precision20": float((errors.center_errors[1:] <= 20).mean()),
                "mean_iou": float(errors.ious[1:].mean()),
                "median_ms": _percentile(step_ms, 50), "p90_ms": _percentile(step_ms, 90), "frames": len(gt),
            }
            scores.append(out.scores[1:])
            ious.append(errors.ious[1:])
        curves[name] = curve = score_curve(np.concatenate(scores), np.concatenate(ious))
        results[name]["all"] = _curve_numbers(curve)
        print(f"  {name:>12s}: AUC " + " ".join(f"{r['auc']:.3f}" for k, r in results[name].items() if k != "all"),
              flush=True)
    return results


def _curve_numbers(curve) -> dict[str, float]:
    """A score curve's numbers for the tables and the JSON: its ROC AUC and the two lost thresholds read off it."""
    return {"score_roc_auc": curve.auc, "best_lost_threshold": curve.best_threshold,
            "lost_threshold_keeping": curve.threshold_keeping()}


def _evaluate_one_step(makers: dict, sequences: dict) -> dict:
    """``{tracker: {sequence: numbers}}`` with every step started from the previous frame's label; under
    ``"all"`` the ROC of the score over every probe's step, pooled: a test of the score on crops that the
    tracker's own choices (thresholds, drift) did not pick.
    """
    import numpy as np

    from mixformerv2_core.evaluation.metrics import iou
    from mixformerv2_core.evaluation.score_curve import score_curve

    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, make in makers.items():
        results[name] = {}
        scores, ious = [], []
        for sequence, (frames, gt) in sequences.items():
            tracker = make()
            tracker.initialize(frames[0], gt[0])
            boxes = np.empty((len(PROBES), len(frames) - 1, 4))
            step_scores = np.empty((len(PROBES), len(frames) - 1))
            for index in range(1, len(frames)):
                for probe, (scale, shift) in enumerate(PROBES):
                    tracker.place(_placed(gt[index - 1], scale, shift))
                    result = tracker.track(frames[index])
                    boxes[probe, index - 1], step_scores[probe, index - 1] = result.box, result.score
            labels = np.asarray(gt[1:], dtype=np.float64)
            scores.append(step_scores.ravel())
            ious.append(iou(boxes.reshape(-1, 4), np.tile(labels, (len(PROBES), 1))))
            step = boxes[-1]
            results[name][sequence] = {
                "median_iou": float(np.median(iou(step, labels))),
                "log_width": float(np.mean(np.log(step[:, 2] / labels[:, 2]))),
                "log_height": float(np.mean(np.log(step[:, 3] / labels[:, 3]))),
                **_probe_slopes(boxes, labels),
            }
        print(f"  {name:>12s}: one-step IoU " + " ".join(f"{r['median_iou']:.2f}" for r in results[name].values()),
              flush=True)
        results[name]["all"] = _curve_numbers(score_curve(np.concatenate(scores), np.concatenate(ious)))
    return results


# (scale, move) of the placed box against the previous label; the label's own step last: the tracker carries on
# from it.
PROBES = ((2 / 3, 0.0), (1.5, 0.0), (1.0, -0.4), (1.0, 0.4), (1.0, 0.0))


def _placed(box, scale: float, shift: float) -> tuple[float, float, float, float]:
    """``box`` (x, y, w, h) scaled about its centre, then moved by ``shift`` of its width and height."""
    from mixformerv2_core.geometry import cxcywh_to_xywh, xywh_to_cxcywh

    cx, cy, w, h = xywh_to_cxcywh(box)
    return cxcywh_to_xywh((cx + shift * w, cy + shift * h, w * scale, h * scale))


def _probe_slopes(boxes, labels) -> dict[str, float]:
    """Size and position slopes from the probes' boxes ``(len(PROBES), frames, 4)`` against the labels."""
    import numpy as np

    from mixformerv2_core.evaluation.metrics import box_centers

    scales, sizes, shifts, errors = [], [], [], []
    for (scale, shift), b in zip(PROBES, boxes):
        if shift == 0.0:
            scales.append(np.log(scale))
            sizes.append(np.mean(0.5 * np.log(b[:, 2] * b[:, 3] / (labels[:, 2] * labels[:, 3]))))
        if scale == 1.0:
            centre_error = (box_centers(b) - box_centers(labels)) / labels[:, 2:]
            shifts.append(shift)
            errors.append(centre_error.mean())
    return {"size_slope": float(np.polyfit(scales, sizes, 1)[0]),
            "position_slope": float(np.polyfit(shifts, errors, 1)[0])}


def _print_one_step_table(results: dict, columns: bool) -> None:
    """Median one-step IoU, the mean log width / height ratios to the label's and the probes' slopes;
    ``columns``: per sequence, else their medians over sequences.
    """
    names = [name for name in next(iter(results.values())) if name != "all"]
    cell = "{:6.2f} {:+6.2f} {:+6.2f} {:5.2f} {:5.2f} | ".format
    heads = names if columns else ["median over sequences"]
    header = f"{'tracker':>12s} | " + "".join(f"{n[:32]:>32s} | " for n in heads) + "median IoU | " + _score_head()
    print(header + "\n" + "-" * len(header))
    for name, per_sequence in results.items():
        rows = [per_sequence[sequence] for sequence in names]
        keys = ("median_iou", "log_width", "log_height", "size_slope", "position_slope")
        cells = [[r[k] for k in keys] for r in rows] if columns else \
            [[_percentile([r[k] for r in rows], 50) for k in keys]]
        print(f"{name:>12s} | " + "".join(cell(*c) for c in cells)
              + f"{_percentile([r['median_iou'] for r in rows], 50):10.2f} | " + _score_cell(per_sequence["all"]))
    print("(each cell: median IoU, mean log(width / label's), mean log(height / label's), size slope, position slope;"
          " the score's ROC pools every probe's step)")


def _score_head() -> str:
    from mixformerv2_core.evaluation.score_curve import KEPT_TRACKED_SHARE

    return f"score ROC (thresholds: best, keeping {KEPT_TRACKED_SHARE:.0%})"


def _score_cell(numbers: dict) -> str:
    return (f"{numbers['score_roc_auc']:9.3f} ({numbers['best_lost_threshold']:.2f}, "
            f"{numbers['lost_threshold_keeping']:.2f})")


def _print_table(results: dict, columns: bool) -> None:
    """Median and p90 over sequences per tracker; ``columns``: also each sequence's AUC."""
    names = [name for name in next(iter(results.values())) if name != "all"]
    score_head = _score_head()
    header = f"{'tracker':>12s} | " + ("".join(f"{n:>14s} | " for n in names) if columns else "") + \
        f"AUC mean median  p90 | P@20 median | mIoU median | {score_head} | step ms median  p90 | FPS median"
    print(header)
    print("-" * len(header))
    for name, per_sequence in results.items():
        rows = [per_sequence[sequence] for sequence in names]
        auc, steps = [r["auc"] for r in rows], [r["median_ms"] for r in rows]
        print(f"{name:>12s} | " + ("".join(f"{r['auc']:14.3f} | " for r in rows) if columns else "")
              + f"{sum(auc) / len(auc):8.3f} {_percentile(auc, 50):6.3f} {_percentile(auc, 90):4.3f}"
              + f" | {_percentile([r['precision20'] for r in rows], 50):11.3f}"
              + f" | {_percentile([r['mean_iou'] for r in rows], 50):11.3f}"
              + f" | {_score_cell(per_sequence['all']):>{len(score_head)}s}"
              + (" | " + " " * 14 + "-     -" + " | " + " " * 9 + "-" if name == "static" else
                 f" | {_percentile(steps, 50):14.2f} {_percentile([r['p90_ms'] for r in rows], 90):5.2f}"
                 f" | {1000.0 / _percentile(steps, 50):10.0f}"))


def _suite(args, makers: dict, sequences: dict, curves: dict, where: str, starts: int = 1) -> dict:
    """One set of sequences, tracked whole (score curves into ``curves[where]``; each from ``starts`` frames)
    or one step at a time.
    """
    if args.one_step:
        return _evaluate_one_step(makers, sequences)
    if starts > 1:
        return _mean_over_starts(_evaluate(makers, _with_starts(sequences, starts), curves.setdefault(where, {})))
    return _evaluate(makers, sequences, curves.setdefault(where, {}))


START_MARK = "@"


def _with_starts(sequences: dict, starts: int) -> dict:
    """Each sequence from ``starts`` evenly spaced frames (frame 0 first), as ``name@frame`` -> (frames, boxes);
    every start keeps at least two frames.
    """
    runs = {}
    for name, (frames, boxes) in sequences.items():
        firsts = sorted({max(0, min(index * len(frames) // starts, len(frames) - 2)) for index in range(starts)})
        for first in firsts:
            runs[f"{name}{START_MARK}{first}"] = (frames[first:], boxes[first:])
    return runs


def _mean_over_starts(results: dict) -> dict:
    """Per tracker, the runs of one sequence folded into their mean (the pooled score curve kept as it is);
    ``starts`` counts them and ``frames`` is the whole sequence's.
    """
    folded = {}
    for tracker, per_run in results.items():
        groups: dict[str, list[dict]] = {}
        for run_name, numbers in per_run.items():
            if run_name != "all":
                groups.setdefault(run_name.rpartition(START_MARK)[0], []).append(numbers)
        folded[tracker] = {
            name: {**{key: sum(r[key] for r in runs) / len(runs) for key in runs[0] if key != "frames"},
                   "frames": runs[0]["frames"], "starts": len(runs)}
            for name, runs in groups.items()}
        folded[tracker]["all"] = per_run["all"]
    return folded


def _real_texture_scenes(count: int, frame_size: tuple[int, int], num_frames: int) -> dict:
    """Held-out real-texture scenes: held-out seeds and photos, the target always present."""
    from mixformerv2_core.evaluation.synthetic import HELD_OUT_SEED
    from mixformerv2_training.validation import validation_scenes

    section = {"kind": "real_texture", "photos": "held_out", "first_seed": HELD_OUT_SEED, "scenes": count,
               "frames": num_frames, "frame_size": frame_size}
    return {f"rt-{HELD_OUT_SEED + index}": scene for index, scene in enumerate(validation_scenes(section))}


def _installed_clips(clips, max_frames) -> dict:
    """Name -> (frames, boxes) of every clip whose package is installed; the others are left out, by name."""
    from mixformerv2_training.data.real_clips import installed_clips

    installed, missing = installed_clips(clips)
    for reason in missing:
        print(f"real_video.py: leaving out the clip {reason}")
    sequences = {}
    for clip in installed:
        frames = list(clip.frames(max_frames))
        sequences[clip.name] = (frames, clip.boxes[:len(frames)])
    return sequences


def run(args, wanted: list[str]) -> None:
    import json
    import os

    import cv2
    import torch

    from mixformerv2_core.cli.runner import writable_file
    from mixformerv2_core.cpu_features import cpu_model_name, detect_cpu
    from mixformerv2_core.errors import InputError
    from mixformerv2_training.data.real_clips import labelled_clips

    for path in (args.json, args.score_curves):
        if path is not None:
            writable_file(path)  # before the run, not after it
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    clips = labelled_clips()
    if args.clips:
        names = set(args.clips.split(","))
        clips = [clip for clip in clips if clip.name in names]
        if not clips:
            raise InputError(f"no labelled clip named {sorted(names)}")
    settings = tracker_settings_given(args)
    makers = _factories(args, wanted, **settings, **({"reacquire": "off"} if args.one_step else {}))
    report, curves = {}, {}
    sequences = _installed_clips(clips, args.max_frames)
    if sequences:
        report["labelled real clips"] = _suite(args, makers, sequences, curves, "clips", args.starts)
        print("labelled real clips: " + ", ".join(f"{n} ({len(f)} frames)" for n, (f, _) in sequences.items())
              + (f", each from {args.starts} starts (means)" if args.starts > 1 else ""))
    if args.real_texture:
        scenes = _real_texture_scenes(args.real_texture, tuple(args.scene_size), args.scene_frames)
        report["held-out real-texture scenes"] = _suite(args, makers, scenes, curves, "scenes")
    machine = (f"{cpu_model_name()} ({detect_cpu().describe()}), {os.cpu_count()} logical cores, "
               f"torch {torch.__version__} {torch.get_num_threads()} threads, opencv {cv2.__version__}, "
               f"load average {os.getloadavg()[0]:.2f} at the end")
    print(f"machine: {machine}")
    if settings:
        print("tracker settings given: " + ", ".join(f"{name} {value}" for name, value in settings.items()))
    for title, results in report.items():
        print(f"\n{title}" + (" (one step from the previous label)" if args.one_step else ""))
        print_table = _print_one_step_table if args.one_step else _print_table
        print_table(results, columns=len(next(iter(results.values()))) <= 7)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "tracker_settings_given": settings,
                                         "clip_starts": args.starts, **report}, indent=2))
    if args.score_curves and curves:
        from mixformerv2_core.evaluation.score_curve import plot_score_curves

        where = "scenes" if "scenes" in curves else "clips"
        scored = {name: curve for name, curve in curves[where].items() if name not in ("static", "csrt")}
        plot_score_curves(scored, args.score_curves, title=f"confidence as a test for IoU > 0.5 ({where})")


if __name__ == "__main__":
    sys.exit(main())
