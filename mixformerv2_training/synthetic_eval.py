"""Held-out check of a trained student or teacher on generated scenes (the core's ``evaluate_synthetic``);
the teacher runs through the core tracker on the core's PyTorch backend (its full forward).

    python -m mixformerv2_training.synthetic_eval --weights runs/demo_score/final.pt --sequences 20
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence, Union

import torch

from mixformerv2_core import MixFormerV2Tracker, load_tracker, resolve_params
from mixformerv2_core.backends import TorchBackend
from mixformerv2_core.cli.runner import command_main
from mixformerv2_core.cli.tracker_options import add_tracker_options, settings_line, tracker_overrides
from mixformerv2_core.evaluation.synthetic import HELD_OUT_SEED, SyntheticScore, evaluate_synthetic

from .models.teacher import MixViT, read_teacher

__all__ = ["HELD_OUT_SEED", "SyntheticScore", "evaluate_synthetic", "teacher_backend", "teacher_tracker"]


def teacher_backend(model: MixViT, device: Union[str, torch.device] = "cpu") -> TorchBackend:
    """The core's PyTorch backend on the teacher's full forward (a MixViT has no cached path or score head)."""
    return TorchBackend(model, device=device, use_cache=False)


def teacher_tracker(teacher: Union[str, MixViT], search_factor: Optional[float] = None, device: str = "cpu",
                    preset: Optional[str] = None, **params) -> MixFormerV2Tracker:
    """A teacher file tracks at the search factor saved with it unless one is given (a loaded model, or a file
    without one: the tracker's default).
    """
    if isinstance(teacher, str):
        teacher, stored = read_teacher(teacher)
        search_factor = stored if search_factor is None else search_factor
    backend = teacher_backend(teacher, device)
    return MixFormerV2Tracker(backend, resolve_params(backend.crop_spec, preset, search_factor=search_factor, **params))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mixformerv2_training.synthetic_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", required=True, help="a student checkpoint (or a teacher with --teacher)")
    parser.add_argument("--teacher", action="store_true", help="the weights are a MixViT teacher")
    parser.add_argument("--sequences", type=int, default=20)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--frame-size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    parser.add_argument("--first-seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--easy", action="store_true", help="scenes without distractors and occlusion")
    add_tracker_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)
    settings = tracker_overrides(args)
    if args.teacher:
        teacher, stored = read_teacher(args.weights)
        settings.setdefault("search_factor", stored)  # the factor it was trained at, unless the user set one
        make = lambda: teacher_tracker(teacher, preset=args.preset, **settings)  # noqa: E731
    else:
        make = lambda: load_tracker(args.weights, preset=args.preset, **settings)  # noqa: E731
    print(settings_line(make().params))
    options = {"num_distractors": 0, "occlusion": False} if args.easy else None
    score = evaluate_synthetic(make, args.sequences, args.frames, tuple(args.frame_size), args.first_seed, options)
    print(json.dumps(score.as_dict(), indent=2))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
