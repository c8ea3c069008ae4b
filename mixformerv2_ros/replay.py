"""Evaluate the tracker on a rosbag: offline (in-process core tracker) and live (through the running node).

Offline replay reads the bag's frames and ground truth, initialises on the first frame with a valid
ground-truth box and tracks every later frame in order with the core tracker; the result is deterministic
for a given checkpoint and bag. Outputs match the benchmark runner: ``<name>.txt``, ``<name>_time.txt``,
``replay.json`` (metrics, FPS, read status) and ``report/`` (table + PNG plots).

Preset and protocol default to those of the bag's source dataset when ``mixformerv2-make-bag`` recorded it
(``dataset`` / ``protocol`` in the bag's custom data), so a benchmark sequence replays exactly as
``mixformerv2-eval`` tracks and scores it; ``--preset`` / ``--protocol`` override them.

A bag that could be read only in part is evaluated on its readable frames and every output says so
(``complete: false`` with the reason); nothing is scored silently on a shortened sequence.
"""
from __future__ import annotations

import json
from itertools import islice
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from mixformerv2_core.cli.runner import command_main
from mixformerv2_core.cli.tracker_options import add_tracker_options, settings_line, tracker_overrides, tracker_settings
from mixformerv2_core.errors import InputError, MixFormerV2Error
from mixformerv2_core.evaluation import metrics as M
from mixformerv2_core.evaluation import report
from mixformerv2_core.evaluation.results import TrackOutput, save_result
from mixformerv2_core.evaluation.runner import PRESETS, TrackerSpec, track_frames
from mixformerv2_core.results_io import read_boxes

from .bags import BagSequence, iter_images, read_sequence_bag


@dataclass
class ReplayResult:
    name: str
    frames_evaluated: int
    frames_in_bag: int | None
    first_frame: int  # index of the initialisation frame in the bag
    complete: bool
    error: str | None
    fps: float
    metrics: dict[str, float] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def ground_truth_for(bag: BagSequence, gt_file: str | Path | None) -> np.ndarray:
    """The bag's own ground-truth topic, or ``gt_file`` (one row per image message, in bag order)."""
    if gt_file is not None:
        boxes = read_boxes(gt_file)
        if len(boxes) < len(bag.frames):
            raise ValueError(f"{gt_file} has {len(boxes)} rows but the bag has {len(bag.frames)} frames")
        return boxes[: len(bag.frames)]
    if bag.boxes is None:
        raise ValueError("the bag has no vision_msgs/Detection2D ground-truth topic; pass a ground-truth file")
    return bag.boxes


def load_for_replay(bag_path: Path, image_topic: str | None, gt_topic: str | None,
                    gt_file: str | Path | None) -> tuple[BagSequence, np.ndarray, int]:
    """The bag's frame stamps (images are streamed later), ground truth and the frame to initialise on."""
    bag = read_sequence_bag(bag_path, image_topic, gt_topic, decode_images=False)
    if not bag.frames:
        raise ValueError(f"no readable frames in {bag_path}" + (f": {bag.error}" if bag.error else ""))
    gt = ground_truth_for(bag, gt_file)
    return bag, gt, first_valid(gt)


def first_valid(boxes: np.ndarray) -> int:
    ok = np.isfinite(boxes).all(axis=1) & (np.nan_to_num(boxes[:, 2]) > 0) & (np.nan_to_num(boxes[:, 3]) > 0)
    if not ok.any():
        raise ValueError("no frame of the bag has a valid ground-truth box to initialise from")
    return int(np.argmax(ok))


def bag_defaults(bag: BagSequence) -> tuple[str | None, str]:
    """Preset and protocol of the bag's recorded source dataset (no preset and ``ope`` when none is recorded)."""
    dataset = bag.custom_data.get("dataset")
    protocol = bag.custom_data.get("protocol")
    return PRESETS.get(dataset or ""), protocol if protocol in M.PROTOCOLS else "ope"


def score(name: str, pred: np.ndarray, gt: np.ndarray, protocol: str,
          visible: np.ndarray | None = None) -> report.Scores | None:
    """OPE scores, or None when no frame after the first has ground truth (e.g. a GOT-10k test sequence)."""
    if not np.isfinite(gt[1:]).all(axis=1).any():
        return None
    errors = M.sequence_errors(pred, gt, protocol or "ope", visible, name=name)
    return report.Scores(name, ope=M.ope_result([errors]), errors={name: errors})


def write_outputs(out_dir: Path, result: ReplayResult, scores: report.Scores | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    if scores is not None:
        title = result.name + ("" if result.complete else " (PARTIAL: readable part of a damaged bag)")
        report.write_report([], [scores], out_dir / "report", title)
    (out_dir / "replay.json").write_text(json.dumps(asdict(result), indent=2, default=float))


def evaluate_bag_offline(
    bag_path: str | Path,
    spec: TrackerSpec,
    out_dir: str | Path,
    *,
    image_topic: str | None = None,
    gt_topic: str | None = None,
    gt_file: str | Path | None = None,
    name: str | None = None,
    protocol: str | None = None,
) -> ReplayResult:
    """Track a bag's frames with the core tracker in this process and score them against its ground truth.

    ``spec.preset=None`` and ``protocol=None`` take the bag's recorded source dataset's (:func:`bag_defaults`);
    preset ``"default"`` means none.
    """
    bag_path, out_dir = Path(bag_path), Path(out_dir)
    name = name or bag_path.name
    bag, gt, start = load_for_replay(bag_path, image_topic, gt_topic, gt_file)
    bag_preset, bag_protocol = bag_defaults(bag)
    if spec.preset is None:
        spec = replace(spec, preset=bag_preset)
    protocol = protocol or bag_protocol
    tracker = spec.build()
    images = islice(iter_images(bag_path, bag.image_topic, "rgb"), start, len(bag.frames))
    output: TrackOutput = track_frames(tracker, images, gt[start])
    save_result(out_dir, name, output)
    end = start + len(output.boxes)
    visible = bag.visible[start:end] if bag.visible is not None and gt_file is None else None
    scores = score(name, output.boxes, gt[start:end], protocol, visible)
    result = ReplayResult(
        name=name, frames_evaluated=len(output.boxes), frames_in_bag=bag.expected_frames, first_frame=start,
        complete=bag.complete, error=bag.error, fps=output.fps, metrics=scores.summary() if scores else {},
        extra={"image_topic": bag.image_topic, "gt_topic": bag.gt_topic, "protocol": protocol,
               "preset": spec.preset, "dataset": bag.custom_data.get("dataset"),
               "tracker_settings": tracker_settings(tracker.params)},
    )
    write_outputs(out_dir, result, scores)
    return result


# ---------------------------------------------------------------------------------------------- command line


def build_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="mixformerv2-replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bag", type=Path, required=True, help="rosbag2 directory (or a .mcap / .db3 file)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--checkpoint", type=Path, help="weights for offline replay")
    parser.add_argument("--variant", choices=["S", "B"], default=None)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--image-topic", default=None, help="image topic in the bag (default: the only one)")
    parser.add_argument("--gt-topic", default=None, help="Detection2D ground-truth topic (default: the only one)")
    parser.add_argument("--gt-file", type=Path, default=None, help="ground truth as a file instead of a topic")
    parser.add_argument("--protocol", choices=sorted(M.PROTOCOLS), default=None,
                        help="invalid-frame rules of the metrics (see docs/evaluation.md; default: the bag's "
                             "recorded source dataset's, else ope)")
    parser.add_argument("--name", default=None, help="sequence name in the outputs (default: the bag's name)")
    parser.add_argument("--live", action="store_true", help="play into the running tracking node instead")
    parser.add_argument("--rate", type=float, default=1.0, help="live: playback rate (1.0 = real time)")
    parser.add_argument("--node", default="/mixformerv2_tracker", help="live: the tracking node's name")
    parser.add_argument("--node-image-topic", default="image", help="live: topic the node subscribes to")
    parser.add_argument("--init-topic", default=None, help="live: the node's init topic")
    parser.add_argument("--output-topic", default=None, help="live: the node's Detection2DArray output topic")
    parser.add_argument("--timeout", type=float, default=10.0, help="live: seconds to wait for the node")
    add_tracker_options(parser, preset_default="offline: the one of the bag's recorded source dataset, else none")
    return parser


def main(argv=None) -> int:
    return command_main(build_parser(), run, argv)


def run(args) -> int:
    import sys

    if args.live:
        from .live_replay import run_live

        if tracker_overrides(args) or args.preset is not None:
            raise InputError("live replay tracks with the node's settings: set preset and tracker settings as the "
                             "node's parameters, not here")

        if args.protocol is None:  # the scoring rules of the bag's recorded dataset, as offline
            args.protocol = bag_defaults(read_sequence_bag(args.bag, args.image_topic, args.gt_topic,
                                                           decode_images=False))[1]
        try:
            result = run_live(args)
        except RuntimeError as error:  # the node could not be reached or did not answer: the message says which
            raise MixFormerV2Error(str(error)) from error
    else:
        if args.checkpoint is None:
            raise InputError("offline replay needs --checkpoint")
        spec = TrackerSpec(str(args.checkpoint), variant=args.variant, backend=args.backend, device=args.device,
                           preset=args.preset, params=tuple(tracker_overrides(args).items()), threads=args.threads)
        result = evaluate_bag_offline(args.bag, spec, args.out, image_topic=args.image_topic,
                                      gt_topic=args.gt_topic, gt_file=args.gt_file, name=args.name,
                                      protocol=args.protocol)
    if not result.complete:
        print(f"WARNING: partial evaluation, {result.frames_evaluated} frames of "
              f"{result.frames_in_bag or 'an unknown number of'} readable: {result.error}", file=sys.stderr)
    if "tracker_settings" in result.extra:
        print(settings_line(result.extra["tracker_settings"]))
    if result.metrics:
        print(report.markdown_table({result.name: result.metrics}), end="")
    else:
        print("no ground truth after the initial box: tracked without metrics")
    print(f"{result.frames_evaluated} frames, {result.fps:.1f} FPS; outputs in {args.out}")
    return 0 if result.complete else 3


if __name__ == "__main__":
    import sys

    sys.exit(main())
