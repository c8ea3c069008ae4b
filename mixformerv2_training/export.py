"""``mixformerv2-train-export``: a training result -> a checkpoint the tracker and the ROS node load as is.

Accepts a trainer checkpoint (``checkpoints/last.pt`` or ``epoch_NNNN.pt``: the student is rebuilt from the
embedded run config), a stage's ``final.pt`` or an official ``.pth.tar``. Blocks eliminated by progressive
depth pruning are removed (they must have reached gamma = 0), the configuration is embedded, and the result
is checked by loading it into a tracker.

    mixformerv2-train-export runs/deep_to_shallow_b/checkpoints/last.pt mixformerv2_b.pt [--onnx bundles/b --int8]

The result loads as ``--weights mixformerv2_b.pt`` in the tracker, the evaluator and the ROS node; with
``--onnx`` the bundles ``DIR/fp32`` and ``DIR/int8`` are ready for the ``onnx`` / ``onnx-int8`` backends
(``bundle_dir`` backend option; ``onnx_bundle_dir`` in the node).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import torch

from mixformerv2_core import CheckpointError, MixFormerV2, load_tracker, save_checkpoint
from mixformerv2_core.checkpoint import model_from_checkpoint, read_checkpoint

from .reduction import check_layers, pruning_gamma, remove_blocks
from .stages import student_config


def _from_training_state(state: dict) -> tuple[MixFormerV2, dict]:
    config = state["config"]
    if config["stage"] == "teacher":
        raise CheckpointError("this is a MixViT teacher run; only MixFormerV2 students are exported for tracking")
    model_config = student_config(config["model"])
    if config["stage"] == "score" and not model_config.score_head:
        model_config = model_config.replace(score_head=True)
    model = MixFormerV2(model_config)
    model.load_state_dict(state["model"], strict=True)
    remove = list(config["train"].get("remove_layers") or []) if config["stage"] == "deep_to_shallow" else []
    if remove:
        epoch = max(1, int(state["epoch"]) - (1 if state["batch_in_epoch"] == 0 else 0))
        gamma = pruning_gamma(epoch, int(config["train"]["pruning_epochs"]))
        if gamma != 0.0:
            raise CheckpointError(f"eliminated blocks {remove} are still active (gamma {gamma:.4f} in epoch {epoch}); "
                                  f"train to epoch {int(config['train']['pruning_epochs']) - 1} before exporting")
        model = remove_blocks(model, check_layers(model_config.depth, remove))
    factor = config["train"].get("tracker_search_factor") or config["data"]["search_factor"]
    return model, {"search_factor": float(factor)}


def export(source: Path, target: Path, search_factor: Optional[float] = None, meta: Optional[dict] = None) -> Path:
    if not source.is_file():
        raise CheckpointError(f"checkpoint not found: {source}")
    payload: Any = torch.load(source, map_location="cpu", weights_only=False) if source.suffix == ".pt" else None
    if isinstance(payload, dict) and "model" in payload and "config" in payload and "optimizer" in payload:
        model, defaults = _from_training_state(payload)
    else:  # an official file or one of ours: keep the tracker defaults it already carries
        checkpoint = read_checkpoint(source)
        model, defaults = model_from_checkpoint(checkpoint), dict(checkpoint.tracker_defaults)
    if search_factor is not None:
        defaults["search_factor"] = float(search_factor)
    save_checkpoint(model, target, tracker_defaults=defaults, meta={"exported_from": str(source), **(meta or {})})
    load_tracker(str(target))  # the result must load where it will be used
    return target


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="mixformerv2-train-export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="trainer checkpoint, final.pt or official .pth.tar")
    parser.add_argument("target", type=Path, help="output checkpoint (core format)")
    parser.add_argument("--search-factor", type=float, default=None, help="tracker default stored with the weights")
    parser.add_argument("--onnx", type=Path, default=None, metavar="DIR",
                        help="also write the ONNX bundles (DIR/fp32, checked against PyTorch) for the onnx backend")
    parser.add_argument("--int8", action="store_true", help="with --onnx: also the INT8 bundle (DIR/int8)")
    args = parser.parse_args(argv)
    if args.int8 and args.onnx is None:
        parser.error("--int8 needs --onnx DIR")
    try:
        path = export(args.source, args.target, args.search_factor)
        print(f"wrote {path}")
        if args.onnx is not None:
            from mixformerv2_core.cli.export import export_onnx

            for report in export_onnx(path, args.onnx, int8=args.int8):
                print(report.summary())
    except (CheckpointError, KeyError, RuntimeError, ValueError) as error:
        print(f"mixformerv2-train-export: {error}", file=sys.stderr)
        return 2
    except ImportError as error:
        print(f"mixformerv2-train-export: ONNX export needs onnx and onnxruntime ({error}); "
              "pip install -r requirements/onnx.txt", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
