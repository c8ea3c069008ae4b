"""``mixformerv2-track``: follow one object through a video, an image folder, a camera or a generated scene."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from ..backends import available_backends
from ..checkpoint import CheckpointError
from ..frame_sources import open_source
from ..geometry import box_iou
from ..results_io import write_boxes
from ..tracker import TRACKER_PRESETS, MixFormerV2Tracker

DEMO_WEIGHTS = Path(__file__).resolve().parent.parent / "assets" / "mixformerv2_demo.pt"


def parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--init expects x,y,w,h numbers, got {text!r}") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"--init expects 4 numbers x,y,w,h, got {len(values)}")
    return values  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixformerv2-track", description=__doc__)
    parser.add_argument("--weights", type=Path, default=None,
                        help="official .pth.tar or our checkpoint (default: the built-in demo model)")
    parser.add_argument("--variant", choices=["S", "B"], default=None, help="expected variant (checked against the weights)")
    parser.add_argument("--input", default="synthetic", help="video file, image folder, camera index, or synthetic[:SEED]")
    parser.add_argument("--init", type=parse_box, default=None, help="initial box x,y,w,h in pixels (synthetic: ground truth)")
    parser.add_argument("--results", type=Path, default=None, help="write one x,y,w,h line per frame here")
    parser.add_argument("--output", type=Path, default=None, help="write an annotated video here (.mp4)")
    parser.add_argument("--search-factor", type=float, default=None)
    parser.add_argument("--update-interval", type=int, default=None)
    parser.add_argument("--preset", default=None, help=f"benchmark preset: {sorted(TRACKER_PRESETS['B'])}")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--backend", default="torch", help=f"inference backend ({', '.join(available_backends())})")
    parser.add_argument("--precision", default=None, help="float32 (default), float16/bfloat16 (GPU)")
    parser.add_argument("--full-forward", action="store_true", help="run the official full forward instead of the cached path")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")
    return parser


def _annotate(frame: np.ndarray, color_order: str, box: Sequence[float], score: float) -> np.ndarray:
    image = frame if color_order == "bgr" else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    image = image.copy()
    x, y, w, h = (int(round(v)) for v in box)
    cv2.rectangle(image, (x, y), (x + w, y + h), (0, 255, 0) if score >= 0.5 else (0, 0, 255), 2)
    cv2.putText(image, f"{score:.2f}", (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return image


def run(args: argparse.Namespace) -> int:
    weights = args.weights or DEMO_WEIGHTS
    if args.weights is None and not DEMO_WEIGHTS.is_file():
        print("error: no --weights given and the built-in demo model is not installed", file=sys.stderr)
        return 2
    source = open_source(args.input)
    tracker = MixFormerV2Tracker.from_checkpoint(
        str(weights), variant=args.variant, device=args.device, backend=args.backend, preset=args.preset,
        precision=args.precision, search_factor=args.search_factor, update_interval=args.update_interval,
        use_cache=not args.full_forward, color_order=source.color_order,
    )
    init = args.init
    if init is None:
        if source.ground_truth is None:
            print("error: --init x,y,w,h is required for this input", file=sys.stderr)
            return 2
        init = tuple(source.ground_truth[0])
    total = source.length if args.max_frames is None else min(source.length or args.max_frames, args.max_frames)
    boxes, scores, step_times = [], [], []
    writer: Optional[cv2.VideoWriter] = None
    progress = tqdm(total=total, unit="frame", disable=args.no_progress, desc=source.name)
    for index, frame in enumerate(source.frames):
        if args.max_frames is not None and index >= args.max_frames:
            break
        start = time.perf_counter()
        result = tracker.initialize(frame, init) if index == 0 else tracker.track(frame)
        if index:
            step_times.append(time.perf_counter() - start)
        boxes.append(result.box)
        scores.append(result.score)
        if args.output is not None:
            annotated = _annotate(frame, source.color_order, result.box, result.score)
            if writer is None:
                args.output.parent.mkdir(parents=True, exist_ok=True)
                size = (annotated.shape[1], annotated.shape[0])
                writer = cv2.VideoWriter(str(args.output), cv2.VideoWriter_fourcc(*"mp4v"), source.fps, size)
            writer.write(annotated)
        progress.update(1)
    progress.close()
    if writer is not None:
        writer.release()
    if args.results is not None:
        write_boxes(args.results, boxes)
    if step_times:
        median = statistics.median(step_times)
        print(f"{len(boxes)} frames, tracker step median {median * 1e3:.1f} ms ({1.0 / median:.1f} FPS), "
              f"mean {len(step_times) / sum(step_times):.1f} FPS")
    if source.ground_truth is not None and boxes:
        ious = [box_iou(p, g) for p, g in zip(boxes[1:], source.ground_truth[1:len(boxes)])]
        if ious:
            print(f"mean IoU against the generated ground truth: {float(np.mean(ious)):.3f}")
    if args.results is not None:
        print(f"results: {args.results}")
    if args.output is not None:
        print(f"annotated video: {args.output}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (CheckpointError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
