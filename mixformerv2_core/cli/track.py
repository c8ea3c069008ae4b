"""mixformerv2-track: follow one object through a video, an image folder, a camera or a generated scene."""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from tqdm import tqdm

from ..backends import available_backends
from ..demo_model import DEMO_WEIGHTS, demo_weights_warning
from ..frame_sources import open_source
from ..geometry import box_iou
from ..results_io import format_box
from ..errors import InputError
from ..tracker import MixFormerV2Tracker
from .runner import command_main, writable_file
from .tracker_options import add_tracker_options, settings_line, tracker_overrides

PROG = "mixformerv2-track"
EXAMPLES = """examples:
  mixformerv2-track --input synthetic:1 --output out/track.mp4      built-in demo model on a generated scene
  mixformerv2-track --weights mixformerv2_small.pth.tar --input video.mp4 --init 120,80,60,90 --results out.txt
  mixformerv2-export --weights mixformerv2_small.pth.tar --output bundles/S --int8
  mixformerv2-track --weights mixformerv2_small.pth.tar --backend onnx-int8 --onnx-bundle bundles/S \\
      --input video.mp4 --init 120,80,60,90

The built-in demo model was trained on generated scenes only; real video needs the official weights
(README.md, 'Real weights')."""


def parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects x,y,w,h numbers, got {text!r}") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expects 4 numbers x,y,w,h, got {len(values)}")
    return values  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Follow one object through a video, an image folder, a camera or a generated scene.",
                                     epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    model = parser.add_argument_group("model")
    model.add_argument("--weights", type=Path, default=None, metavar="FILE",
                       help="official mixformerv2_*.pth.tar or a checkpoint of ours (default: the built-in demo "
                            "model, generated scenes only)")
    model.add_argument("--variant", choices=["S", "B"], default=None, help="expected variant, checked against the weights")
    model.add_argument("--backend", default="torch", help=f"inference backend: {', '.join(available_backends())} "
                                                          "(default torch)")
    model.add_argument("--onnx-bundle", type=Path, default=None, metavar="DIR",
                       help="onnx backends: a bundle written by mixformerv2-export (its --output folder or the "
                            "fp32/int8 folder inside); default: export into the cache on first use")
    model.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    model.add_argument("--precision", default=None, help="float32 (default), float16 or bfloat16")
    model.add_argument("--full-forward", action="store_true",
                       help="run the official full forward every frame instead of the cached template path")
    tracking = parser.add_argument_group("tracking")
    tracking.add_argument("--input", default="synthetic", metavar="SOURCE",
                          help="video file, image folder (natural order: 2.jpg before 10.jpg), camera index, or "
                               "synthetic[:SEED] (default synthetic)")
    tracking.add_argument("--init", type=parse_box, default=None, metavar="X,Y,W,H",
                          help="initial box in pixels of the first frame; generated scenes use their ground truth")
    tracking.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    add_tracker_options(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--results", type=Path, default=None, metavar="FILE",
                        help="one x,y,w,h line per frame, written as the frames are tracked")
    output.add_argument("--output", type=Path, default=None, metavar="VIDEO.mp4",
                        help="annotated H.264 video, plus a contact sheet next to it (VIDEO.png)")
    output.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


_NEGATIVE_VALUE = re.compile(r"^-\d")


def join_negative_values(argv: Sequence[str], options: Sequence[str] = ("--init",)) -> list[str]:
    """``--init -50,-50,30,30`` -> ``--init=-50,-50,30,30``: argparse would read the value as an option."""
    joined: list[str] = []
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        if item in options and index + 1 < len(items) and _NEGATIVE_VALUE.match(items[index + 1]):
            joined.append(f"{item}={items[index + 1]}")
            index += 2
            continue
        joined.append(item)
        index += 1
    return joined


def check_weights(path: Path) -> None:
    """Clear messages for the usual wrong files, before torch tries to unpickle them."""
    if path.is_dir():
        hint = (": it looks like an ONNX bundle, give it as --onnx-bundle with --backend onnx or onnx-int8"
                if any((path / sub / "manifest.json").is_file() for sub in ("", "fp32", "int8")) else "")
        raise InputError(f"--weights {path} is a directory, not a weights file{hint}")
    if not path.exists():
        raise InputError(f"weights file not found: {path}")
    if path.suffix.lower() == ".onnx":
        raise InputError(f"--weights {path}: this is an ONNX graph, not weights; use the weights it was exported "
                         f"from with --backend onnx (or onnx-int8) --onnx-bundle DIR, DIR being the folder "
                         f"mixformerv2-export wrote")


def resolve_bundle(bundle: Path, backend: str) -> Path:
    """The bundle folder itself, or the fp32/int8 folder that mixformerv2-export wrote inside it."""
    if not bundle.is_dir():
        raise InputError(f"--onnx-bundle {bundle} not found (give the folder mixformerv2-export wrote)")
    if (bundle / "manifest.json").is_file():
        return bundle
    inner = bundle / ("int8" if backend == "onnx-int8" else "fp32")
    if (inner / "manifest.json").is_file():
        return inner
    raise InputError(f"--onnx-bundle {bundle} holds no ONNX bundle (manifest.json) for backend {backend}")


def check_output(path: Path, option: str) -> Path:
    """Checked before tracking, so an unwritable path fails at once, not after the last frame."""
    try:
        return writable_file(path)
    except InputError as error:
        raise InputError(f"{option} {path}: {error}") from None


def run(args: argparse.Namespace) -> int:
    if args.weights is not None:
        check_weights(args.weights)
    elif not DEMO_WEIGHTS.is_file():
        raise InputError("no --weights given and the built-in demo model is not installed")
    weights = args.weights or DEMO_WEIGHTS
    options = {}
    if args.onnx_bundle is not None:
        if not args.backend.startswith("onnx"):
            raise InputError(f"--onnx-bundle needs --backend onnx or onnx-int8, not {args.backend}")
        options["bundle_dir"] = str(resolve_bundle(args.onnx_bundle, args.backend))
    source = open_source(args.input)
    init = args.init
    if init is None:
        if source.ground_truth is None:
            raise InputError(f"--init X,Y,W,H is required for {args.input} (the target's box in the first frame)")
        init = tuple(source.ground_truth[0])
    if args.output is not None:
        check_output(args.output, "--output")
    results_file = open(check_output(args.results, "--results"), "w", encoding="utf-8") if args.results else None
    notice = demo_weights_warning(weights, generated_input=source.ground_truth is not None)
    if notice:
        print(f"{PROG}: warning: {notice}", file=sys.stderr)
    tracker = MixFormerV2Tracker.from_checkpoint(
        str(weights), variant=args.variant, device=args.device, backend=args.backend, preset=args.preset,
        precision=args.precision, use_cache=not args.full_forward, color_order=source.color_order,
        backend_options=options, **tracker_overrides(args),
    )
    print(settings_line(tracker.params))
    try:
        return _track(args, source, tracker, init, results_file)
    finally:
        if results_file is not None:
            results_file.close()


def _track(args, source, tracker, init, results_file) -> int:
    from ..annotated_video import AnnotatedVideo, DrawnTarget

    total = source.length if args.max_frames is None else min(source.length or args.max_frames, args.max_frames)
    boxes, step_times = [], []
    video = AnnotatedVideo(args.output, source.fps) if args.output is not None else None
    progress = tqdm(total=total, unit="frame", disable=args.no_progress, desc=source.name)
    failure: Optional[Exception] = None
    try:
        for index, frame in enumerate(source.frames):
            if args.max_frames is not None and index >= args.max_frames:
                break
            start = time.perf_counter()
            result = tracker.initialize(frame, init) if index == 0 else tracker.track(frame)
            if index:
                step_times.append(time.perf_counter() - start)
            boxes.append(result.box)
            if results_file is not None:
                results_file.write(format_box(result.box) + "\n")
                results_file.flush()
            if video is not None:
                image = frame if source.color_order == "bgr" else np.ascontiguousarray(frame[:, :, ::-1])
                truth = source.ground_truth[index] if source.ground_truth is not None else None
                rate = f"{1.0 / statistics.median(step_times[-30:]):.1f} FPS" if step_times else ""
                video.add(image, [DrawnTarget("target", result.box, result.score, result.state)], index, rate, truth)
            progress.update(1)
    except ValueError as error:  # a frame that cannot be read: keep what was tracked, say which frame
        failure = error
    finally:
        progress.close()
        sheet = video.close() if video is not None else None
    for note in source.notes:
        print(f"{PROG}: warning: {note}", file=sys.stderr)
    if step_times:
        median = statistics.median(step_times)
        print(f"{len(boxes)} frames, tracker step median {median * 1e3:.1f} ms ({1.0 / median:.1f} FPS), "
              f"mean {len(step_times) / sum(step_times):.1f} FPS")
    if source.ground_truth is not None and boxes:
        ious = [box_iou(p, g) for p, g in zip(boxes[1:], source.ground_truth[1:len(boxes)])]
        if ious:
            print(f"mean IoU against the generated ground truth: {float(np.mean(ious)):.3f}")
    if args.results is not None:
        print(f"results: {args.results} ({len(boxes)} frames)")
    if video is not None and video.frames:
        print(f"annotated video: {args.output} (H.264), contact sheet: {sheet}")
    if failure is not None:
        raise InputError(f"{failure}; the {len(boxes)} frames before it were kept")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command_main(build_parser(), run, join_negative_values(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
