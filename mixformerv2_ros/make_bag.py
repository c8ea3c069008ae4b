"""``mixformerv2-make-bag``: turn a benchmark sequence, a video or image folder plus a ground-truth file, or a
generated scene into a rosbag2 (Image or CompressedImage at the sequence's frame rate + Detection2D truth).
"""
from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from mixformerv2_core.cli.runner import command_main
from mixformerv2_core.evaluation.datasets import LOADERS, load_dataset
from mixformerv2_core.evaluation.runner import read_frame
from mixformerv2_core.frame_sources import open_source
from mixformerv2_core.results_io import read_boxes

from .bags import TARGET_ROS_DISTRO, write_sequence_bag


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixformerv2-make-bag", description=__doc__)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", choices=sorted(LOADERS), help="benchmark name (with --root and --sequence)")
    src.add_argument("--video", type=Path, help="video file or image folder (with --gt)")
    src.add_argument("--synthetic", type=int, metavar="SEED", help="a generated sequence")
    parser.add_argument("--root", type=Path, help="dataset root")
    parser.add_argument("--sequence", help="sequence name in the dataset")
    parser.add_argument("--gt", type=Path, help="ground-truth file for --video (one x,y,w,h row per frame)")
    parser.add_argument("--out", type=Path, required=True, help="bag directory to create")
    parser.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    parser.add_argument("--compressed", choices=["jpeg", "png"], default=None, help="CompressedImage instead of Image")
    parser.add_argument("--fps", type=float, default=None, help="frame rate (default: the source's)")
    parser.add_argument("--image-topic", default="/camera/image_raw")
    parser.add_argument("--gt-topic", default="/ground_truth")
    parser.add_argument("--frame-id", default="camera")
    parser.add_argument("--ros-distro", default=TARGET_ROS_DISTRO, help="ros_distro written into the bag's metadata")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--frames", type=int, default=150, help="length of a --synthetic sequence")
    return parser


def _source(args: argparse.Namespace) -> tuple[Iterable[np.ndarray], str, np.ndarray, np.ndarray | None, float, str,
                                               dict[str, str]]:
    """frames, color order, boxes, visibility, fps, name, what the bag records about its source."""
    if args.dataset:
        if args.root is None or args.sequence is None:
            raise ValueError("--dataset needs --root and --sequence")
        (seq,) = load_dataset(args.dataset, args.root, [args.sequence])
        if not seq.fully_annotated:  # test sets: only the initial box, the bag still serves latency tests
            print(f"note: {args.dataset} gives only the initial box of {seq.name}; later frames' ground truth is "
                  "marked 'unknown'", file=sys.stderr)
        # replay takes preset and scoring rules from the recorded dataset and protocol
        recorded = {"sequence": seq.name, "source": args.dataset, "dataset": args.dataset, "protocol": seq.protocol}
        return ((read_frame(p, "rgb") for p in seq.frames), "rgb", seq.ground_truth, seq.visible, seq.fps, seq.name,
                recorded)
    if args.video:
        if args.gt is None:
            raise ValueError("--video needs --gt")
        source = open_source(str(args.video))
        return (source.frames, source.color_order, read_boxes(args.gt), None, source.fps, source.name,
                {"sequence": source.name, "source": str(args.video)})
    from mixformerv2_core.synthetic import generate_sequence

    seq = generate_sequence(seed=args.synthetic, num_frames=args.frames)
    return iter(seq.frames), "rgb", seq.boxes, None, seq.fps, seq.name, {"sequence": seq.name, "source": "synthetic"}


def run(args: argparse.Namespace) -> int:
    frames, color_order, boxes, visible, fps, name, recorded = _source(args)
    if args.max_frames is not None:
        frames = islice(frames, args.max_frames)
    info = write_sequence_bag(
        args.out, frames, boxes, args.fps or fps, image_topic=args.image_topic, gt_topic=args.gt_topic,
        frame_id=args.frame_id, storage=args.storage, compressed=args.compressed, color_order=color_order,
        visible=visible, object_id=name, custom_data=recorded, ros_distro=args.ros_distro,
    )
    print(f"{info.frames} frames at {args.fps or fps:g} fps -> {info.path} ({info.storage}; {info.image_topic}, {info.gt_topic})")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
