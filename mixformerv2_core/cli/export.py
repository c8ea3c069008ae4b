"""``mixformerv2-export``: turn weights (official ``.pth.tar`` or ours) into deployable files.

Formats: ``onnx`` (template encoder + search step bundles, fp32 and optionally int8, each checked against
PyTorch), ``checkpoint`` (our self-describing format, optionally with tracker defaults; the training toolkit
writes its results this way) and ``official`` (``{'net': state_dict}`` as the official trainer saves).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from ..checkpoint import model_from_checkpoint, read_checkpoint, save_checkpoint, save_official_format
from ..cpu_features import detect_cpu
from ..export.bundles import write_onnx_bundles
from ..evaluation.score_curve import KEPT_TRACKED_SHARE
from ..export.quantize import INT8_RECIPES, recipe_for_cpu
from .runner import command_main, writable_dir, writable_file
from ..export.onnx_export import MIN_OPSET
from ..tracker import resolve_params

FORMATS = ("onnx", "checkpoint", "official")


def export_checkpoint(weights: Path, output: Path, variant: Optional[str] = None, fmt: str = "checkpoint",
                      tracker_defaults: Optional[dict[str, Any]] = None, meta: Optional[dict[str, Any]] = None) -> Path:
    """Our checkpoint format (config embedded, optional tracker defaults) or the official layout."""
    checkpoint = read_checkpoint(weights, variant)
    model = model_from_checkpoint(checkpoint)
    if fmt == "official":
        return save_official_format(model, output)
    defaults = dict(checkpoint.tracker_defaults)
    defaults.update({key: value for key, value in (tracker_defaults or {}).items() if value is not None})
    resolve_params(checkpoint.config, None, defaults)  # refuses a value no tracker could use, before writing
    merged_meta = dict(checkpoint.meta, source_weights=str(weights), **(meta or {}))
    return save_checkpoint(model, output, tracker_defaults=defaults, meta=merged_meta)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixformerv2-export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True, help="official .pth.tar or our checkpoint")
    parser.add_argument("--format", choices=FORMATS, default="onnx")
    parser.add_argument("--output", type=Path, required=True,
                        help="onnx: a directory (bundles go to OUTPUT/fp32 and OUTPUT/int8); otherwise a file")
    parser.add_argument("--variant", choices=["S", "B"], default=None, help="expected variant (checked)")
    parser.add_argument("--int8", action="store_true",
                        help="onnx: also write the INT8 bundle, with the recipe this CPU wants (see --int8-recipe)")
    parser.add_argument("--int8-recipe", choices=("auto", *INT8_RECIPES), default=None,
                        help="onnx: INT8 recipe (implies --int8); auto: full 8-bit weights on CPUs with VNNI, "
                             "7-bit weights without (they would overflow there)")
    parser.add_argument("--opset", type=int, default=MIN_OPSET, help=f"ONNX opset (>= {MIN_OPSET})")
    parser.add_argument("--no-check", action="store_true", help="onnx: skip the comparison with PyTorch")
    parser.add_argument("--search-factor", type=float, default=None, help="checkpoint: tracker default to embed")
    parser.add_argument("--update-interval", type=int, default=None, help="checkpoint: tracker default to embed")
    parser.add_argument("--lost-threshold", type=float, default=None,
                        help="checkpoint: tracker default to embed; read it off the model's score curve "
                             f"(benchmarks/real_video.py prints the best one and the one keeping {100 * KEPT_TRACKED_SHARE:.0f} %% "
                             "of tracked frames)")
    parser.add_argument("--reacquire-threshold", type=float, default=None,
                        help="checkpoint: tracker default to embed; the score a lost target's window needs "
                             "(at least the lost threshold)")
    parser.add_argument("--tight-search-factor", type=float, default=None, metavar="F",
                        help="checkpoint: tracker default to embed; a second, tighter search window around the "
                             "box (0: off)")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.format == "onnx":
        writable_dir(args.output)
        int8 = args.int8 or args.int8_recipe is not None
        if int8 and args.int8_recipe in (None, "auto"):
            print(f"INT8 recipe for this CPU ({detect_cpu().describe()}): {recipe_for_cpu()}")
        for report in write_onnx_bundles(args.weights, args.output, args.variant, int8, args.opset,
                                         not args.no_check, int8_recipe=args.int8_recipe):
            print(report.summary())
        return 0
    writable_file(args.output)
    defaults = {"search_factor": args.search_factor, "update_interval": args.update_interval,
                "lost_threshold": args.lost_threshold, "reacquire_threshold": args.reacquire_threshold,
                "tight_search_factor": args.tight_search_factor}
    path = export_checkpoint(args.weights, args.output, args.variant, args.format, defaults)
    print(f"wrote {args.format} weights to {path}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
