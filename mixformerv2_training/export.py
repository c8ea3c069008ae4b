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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from mixformerv2_core import CheckpointError, MixFormerV2, load_tracker, save_checkpoint
from mixformerv2_core.checkpoint import is_training_state, model_from_checkpoint, read_checkpoint, _torch_load
from mixformerv2_core.cli.runner import run_command, writable_dir, writable_file
from mixformerv2_core.config import ModelConfig, tracking_family
from mixformerv2_core.errors import MixFormerV2Error

from .reduction import check_layers, pruning_gamma, remove_blocks
from .config import trained_search_factor
from .stages import student_config



class UnfinishedPruningError(MixFormerV2Error, RuntimeError):
    """Blocks marked for elimination still contribute: the run stopped before their gamma reached 0."""


TEACHER_REFUSED = "this is a MixViT teacher run; only MixFormerV2 students are exported for tracking"


@dataclass
class ExportedModel:
    """What a training run hands to tracking: the final network and what the tracker must know about it."""

    model: MixFormerV2
    tracker_defaults: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path, meta: Optional[Mapping[str, Any]] = None) -> Path:
        return save_checkpoint(self.model, path, tracker_defaults=self.tracker_defaults, meta={**self.meta, **(meta or {})})


def tracker_defaults_for(config: Mapping[str, Any], model_config: ModelConfig) -> dict[str, float]:
    """The search factor stored with a trained network: the run's ``train.tracker_search_factor`` when set;
    nothing for a released variant's family (its row of the variant table applies when tracking); otherwise
    the factor its training crops were cut with.
    """
    if config["train"].get("tracker_search_factor") is None and tracking_family(model_config) is not None:
        return {}
    return {"search_factor": trained_search_factor(config, model_config.patch_size, model_config.template_size,
                                                   model_config.search_size)}


def export_student(config: Mapping[str, Any], model: MixFormerV2, epoch: int) -> ExportedModel:
    """A student stage's network at ``epoch`` as tracking uses it: pruned blocks removed (they must have faded
    out by then), tracker defaults derived once, the stage recorded.
    """
    if config["stage"] == "teacher":
        raise CheckpointError(TEACHER_REFUSED)
    remove = list(config["train"].get("remove_layers") or []) if config["stage"] == "deep_to_shallow" else []
    if remove:
        gamma = pruning_gamma(epoch, int(config["train"]["pruning_epochs"]))
        if gamma != 0.0:
            raise UnfinishedPruningError(f"eliminated blocks {remove} are still active (gamma {gamma:.4f} in epoch {epoch}); "
                                  f"train to epoch {int(config['train']['pruning_epochs']) - 1} before exporting")
        model = remove_blocks(model, check_layers(model.config.depth, remove))
    meta = {"stage": config["stage"], "removed_layers": remove}
    return ExportedModel(model, tracker_defaults_for(config, model.config), meta)


def _from_training_state(state: Mapping[str, Any]) -> ExportedModel:
    config = state["config"]
    if config["stage"] == "teacher":
        raise CheckpointError(TEACHER_REFUSED)
    model_config = student_config(config["model"])
    if config["stage"] == "score" and not model_config.score_head:
        model_config = model_config.replace(score_head=True)
    model = MixFormerV2(model_config)
    model.load_state_dict(state["model"], strict=True)
    finished_epoch = max(1, int(state["epoch"]) - (1 if state["batch_in_epoch"] == 0 else 0))
    return export_student(config, model, finished_epoch)


def export(source: Path, target: Path, search_factor: Optional[float] = None, meta: Optional[dict] = None) -> Path:
    if not source.is_file():
        raise CheckpointError(f"checkpoint not found: {source}")
    payload = _torch_load(source)  # data only: no pickled code of the file runs
    if is_training_state(payload):
        exported = _from_training_state(payload)
    else:  # an official file or one of ours: keep the tracker defaults it already carries
        checkpoint = read_checkpoint(source)
        exported = ExportedModel(model_from_checkpoint(checkpoint), dict(checkpoint.tracker_defaults))
    if search_factor is not None:
        exported.tracker_defaults["search_factor"] = float(search_factor)
    exported.save(target, meta={"exported_from": str(source), **(meta or {})})
    load_tracker(str(target))  # the result must load where it will be used
    return target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixformerv2-train-export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="trainer checkpoint, final.pt or official .pth.tar")
    parser.add_argument("target", type=Path, help="output checkpoint (core format)")
    parser.add_argument("--search-factor", type=float, default=None, help="tracker default stored with the weights")
    parser.add_argument("--onnx", type=Path, default=None, metavar="DIR",
                        help="also write the ONNX bundles (DIR/fp32, checked against PyTorch) for the onnx backend")
    parser.add_argument("--int8", action="store_true", help="with --onnx: also the INT8 bundle (DIR/int8)")
    return parser


def run(args: argparse.Namespace) -> int:
    writable_file(args.target)
    if args.onnx is not None:
        writable_dir(args.onnx)
    path = export(args.source, args.target, args.search_factor)
    print(f"wrote {path}")
    if args.onnx is not None:
        from mixformerv2_core.export.bundles import write_onnx_bundles

        for report in write_onnx_bundles(path, args.onnx, int8=args.int8):
            print(report.summary())
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.int8 and args.onnx is None:
        parser.error("--int8 needs --onnx DIR")
    return run_command(parser.prog, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
