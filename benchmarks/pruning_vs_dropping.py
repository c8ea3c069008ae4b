"""Progressive depth pruning (gamma decays over the first epochs) vs plain layer dropping (remove, then
fine-tune) from the same trained student, same teacher, same data and step budget.

    python benchmarks/pruning_vs_dropping.py --student runs/tiny_dense_to_sparse/final.pt --remove 0 2 \
        --config tiny_dense_to_sparse --epochs 4 --pruning-epochs 3 --easy --frame-size 120 160 --out runs/pvd

Prints one row per method: held-out synthetic tracking AUC / mean IoU and the final training losses.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from mixformerv2_core import load_model, load_tracker, save_checkpoint
from mixformerv2_core.cli.runner import run_command, writable_dir
from mixformerv2_training.config import load_config
from mixformerv2_training.reduction import kept_index_map, remove_blocks
from mixformerv2_training.synthetic_eval import evaluate_synthetic
from mixformerv2_training.trainer import Trainer


def _model_override(config) -> str:
    return "model=" + json.dumps(config.to_dict())


def main(argv=None) -> int:
    """Fails as ``pruning_vs_dropping.py: error: ...`` (exit 2), as the project's commands do."""
    parser = argparse.ArgumentParser(prog="pruning_vs_dropping.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--student", required=True, help="a trained MixFormerV2 checkpoint (teacher and start point)")
    parser.add_argument("--remove", type=int, nargs="+", required=True, help="blocks to eliminate")
    parser.add_argument("--config", default="tiny_dense_to_sparse", help="preset whose data section is used")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--pruning-epochs", type=int, default=3)
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--frame-size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    parser.add_argument("--easy", action="store_true", help="held-out scenes without distractors and occlusion")
    parser.add_argument("--out", type=Path, default=Path("runs/pruning_vs_dropping"),
                        help="its two training runs go to OUT/pruning and OUT/dropping, replacing an earlier pair")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    if args.sequences < 1 or args.frames < 2:
        parser.error(f"--sequences takes N >= 1 and --frames N >= 2 (frame 0 is not scored), "
                     f"got {args.sequences} and {args.frames}")
    return run_command(parser.prog, lambda: run(args))


def run(args: argparse.Namespace) -> None:
    """--out, --student, --config and the overrides are checked before the first scoring, not after it."""
    writable_dir(args.out)
    torch.set_num_threads(1)
    base = load_model(args.student)
    depth = base.config.depth
    mapping = kept_index_map(depth, args.remove)
    pairs = [[new, old] for old, new in mapping.items()]  # each kept block mimics its own teacher block
    common = [*args.overrides, "stage=deep_to_shallow", f"teacher.checkpoint={args.student}",
              f"train.epochs={args.epochs}", f"train.lr_drop_epoch={args.epochs + 1}"]
    dropped_path = args.out / "dropped_init.pt"
    save_checkpoint(remove_blocks(base, args.remove), dropped_path)
    runs = {
        "progressive pruning": [*common, _model_override(base.config), f"init.checkpoint={args.student}",
                                f"train.remove_layers={list(args.remove)}", f"train.pruning_epochs={args.pruning_epochs}",
                                f"train.feature_pairs={[[old, old] for old in mapping]}", f"output_dir={args.out / 'pruning'}"],
        "plain dropping": [*common, _model_override(base.config.replace(depth=len(mapping))),
                           f"init.checkpoint={dropped_path}", f"train.feature_pairs={pairs}",
                           f"output_dir={args.out / 'dropping'}"],
    }
    configs = {name: load_config(args.config, overrides) for name, overrides in runs.items()}
    held_out = dict(num_sequences=args.sequences, num_frames=args.frames, frame_size=tuple(args.frame_size),
                    scene_options={"num_distractors": 0, "occlusion": False} if args.easy else None)

    def score(path):
        return evaluate_synthetic(lambda: load_tracker(str(path)), **held_out)

    nan = float("nan")
    rows = []
    for name, path in (("start (all blocks)", args.student), ("dropped, not trained", dropped_path)):
        result = score(path)
        rows.append((name, result.auc, result.mean_iou, result.baseline_auc, nan, nan))
    for name, config in configs.items():
        run_dir = Path(config["output_dir"])
        shutil.rmtree(run_dir, ignore_errors=True)  # the comparison trains both from the start
        summary = Trainer(config).fit()
        last = json.loads((run_dir / "log.jsonl").read_text().splitlines()[-1])
        result = score(summary["final"])
        rows.append((name, result.auc, result.mean_iou, result.baseline_auc, last["iou"], last.get("kl", nan)))
    print(f"{'method':<22} {'AUC':>6} {'mean IoU':>9} {'static AUC':>11} {'train IoU':>10} {'KL':>7}")
    for name, auc, miou, base_auc, iou, kl in rows:
        print(f"{name:<22} {auc:>6.3f} {miou:>9.3f} {base_auc:>11.3f} {iou:>10.3f} {kl:>7.3f}")


if __name__ == "__main__":
    sys.exit(main())
