"""Held-out check of a trained student or teacher on generated scenes (the core's ``evaluate_synthetic``);
the teacher runs through the core tracker on a backend of its own.

    python -m mixformerv2_training.synthetic_eval --weights runs/demo_score/final.pt --sequences 20
"""
from __future__ import annotations

import argparse
import json
from typing import Hashable, Iterable, Optional, Sequence, Union

import numpy as np
import torch

from mixformerv2_core import ModelConfig, MixFormerV2Tracker, load_tracker, resolve_params
from mixformerv2_core.backends import InferenceOutput
from mixformerv2_core.backends.template_store import TemplateStore
from mixformerv2_core.backends.torch_backend import concat_image_pairs, write_image_pair_slot
from mixformerv2_core.evaluation.synthetic import HELD_OUT_SEED, SyntheticScore, evaluate_synthetic

from .models.teacher import MixViT, load_teacher

__all__ = ["HELD_OUT_SEED", "SyntheticScore", "TeacherBackend", "evaluate_synthetic", "teacher_tracker"]


class TeacherBackend:
    """Lets the core tracker drive a MixViT teacher (full forward every frame; no score head)."""

    def __init__(self, model: MixViT, device: Union[str, torch.device] = "cpu") -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        c = model.config
        # The tracker only reads crop sizes (and a variant name, which this custom config has none of).
        self.config = ModelConfig(embed_dim=c.embed_dim, depth=c.depth, num_heads=c.num_heads, patch_size=c.patch_size,
                                  template_size=c.template_size, search_size=c.search_size,
                                  feat_sz=c.heatmap_size, score_head=False)
        self._templates = TemplateStore(concat_image_pairs, write_image_pair_slot)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device).unsqueeze(0)

    def set_templates(self, key: Hashable, template: np.ndarray, online_template: np.ndarray) -> None:
        self._templates.set(key, (self._tensor(template), self._tensor(online_template)))

    def remove(self, key: Hashable) -> None:
        self._templates.remove(key)

    def clear(self) -> None:
        self._templates.clear()

    @torch.inference_mode()
    def infer(self, keys: Sequence[Hashable], search: np.ndarray) -> InferenceOutput:
        templates, onlines = self._templates.batched(keys)
        out = self.model(templates, onlines, torch.from_numpy(search).to(self.device))
        boxes = out["pred_boxes"][:, 0].float().cpu().numpy()
        return InferenceOutput(pred_boxes=boxes, score_logits=np.full(len(keys), np.inf, dtype=np.float32))


def teacher_tracker(teacher: Union[str, MixViT], search_factor: Optional[float] = None, device: str = "cpu",
                    **params) -> MixFormerV2Tracker:
    model = load_teacher(teacher) if isinstance(teacher, str) else teacher
    backend = TeacherBackend(model, device)
    return MixFormerV2Tracker(backend, resolve_params(backend.config, search_factor=search_factor, **params))


def main(argv: Optional[Iterable[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", required=True, help="a student checkpoint (or a teacher with --teacher)")
    parser.add_argument("--teacher", action="store_true", help="the weights are a MixViT teacher")
    parser.add_argument("--search-factor", type=float, default=None, help="default: the checkpoint's, else the variant table's for the crop sizes")
    parser.add_argument("--sequences", type=int, default=20)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--frame-size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    parser.add_argument("--first-seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--easy", action="store_true", help="scenes without distractors and occlusion")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.teacher:
        teacher = load_teacher(args.weights)
        make = lambda: teacher_tracker(teacher, args.search_factor)  # noqa: E731
    else:
        make = lambda: load_tracker(args.weights, search_factor=args.search_factor)  # noqa: E731
    options = {"num_distractors": 0, "occlusion": False} if args.easy else None
    score = evaluate_synthetic(make, args.sequences, args.frames, tuple(args.frame_size), args.first_seed, options)
    print(json.dumps(score.as_dict(), indent=2))


if __name__ == "__main__":
    main()
