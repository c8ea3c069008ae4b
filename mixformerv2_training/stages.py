"""What each training stage trains, against what, with which losses, and what it exports.

* ``teacher``: MixViT + corner head on ground truth (L1 + CIoU).
* ``student``: MixFormerV2 on ground truth alone (no teacher; the demo model is trained this way).
* ``dense_to_sparse``: MixFormerV2 from a frozen MixViT: box losses + KL to the marginalised corner maps
  (both student stages optionally add the target-attention term, weight ``attn``, and feature mimicking of the
  teacher's blocks, ``feature_pairs``, where the teacher has the student's width).
* ``deep_to_shallow``: MixFormerV2 from a frozen MixFormerV2 (a copy of it, or a previous stage), with
  progressive depth pruning, MLP slicing and feature mimicking; eliminated blocks are removed on export.
* ``score``: only the score head, BCE on positive/negative search frames (optionally labelled by the
  IoU of the model's own box).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mixformerv2_core import MixFormerV2, ModelConfig, build_model, load_model, load_tracker
from mixformerv2_core.checkpoint import CheckpointError, _torch_load
from mixformerv2_core.config import variant_config

from . import losses
from .config import trained_search_factor
from .models.teacher import TeacherConfig, build_teacher, load_teacher, read_teacher, save_teacher
from .reduction import block_gammas, check_layers, pruning_gamma, slice_mlps


def student_config(spec: Mapping[str, Any]) -> ModelConfig:
    values = dict(spec)
    base = variant_config(values.pop("variant")) if "variant" in values else ModelConfig()
    return dataclasses.replace(base, **values) if values else base


def _load_init_weights(model: nn.Module, path: str) -> None:
    """MAE-style initialisation: tensors whose names and shapes match are copied (positions excluded)."""
    payload = _torch_load(Path(path))
    state = payload.get("model") or payload.get("net") or payload.get("state_dict") or payload
    state = {k.removeprefix("module."): v for k, v in state.items() if "pos_embed" not in k and "mask_token" not in k}
    own = model.state_dict()
    prefix = "" if any(k.startswith("backbone.") for k in state) else "backbone."
    matched = {prefix + k: v for k, v in state.items() if prefix + k in own and own[prefix + k].shape == v.shape}
    if not matched:
        raise CheckpointError(f"{path}: no tensor matches the model (wrong file for this stage?)")
    model.load_state_dict(matched, strict=False)


class Stage:
    """Owns the trainable network (``model``) and an optional frozen ``teacher``."""

    search_size: int
    template_size: int
    patch_size: int
    score_labels = False
    find_unused_parameters = False

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.train_cfg = config["train"]
        self.weights = self.train_cfg["loss_weights"]
        self.teacher: Optional[nn.Module] = None
        self.epoch = 1  # 1-based, set by the trainer

    def to(self, device: torch.device) -> "Stage":
        self.model.to(device)
        if self.teacher is not None:
            self.teacher.to(device).eval()
            for p in self.teacher.parameters():
                p.requires_grad_(False)
        return self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _box_terms(self, pred_boxes: Tensor, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        terms = losses.box_losses(pred_boxes, batch["search_anno"], self.train_cfg["iou_loss"])
        terms["total"] = self.weights["l1"] * terms["l1"] + self.weights["iou"] * terms["iou_loss"]
        return terms

    def losses(self, model: nn.Module, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        raise NotImplementedError

    def export(self, path: Path, meta: Mapping[str, Any]) -> Path:
        raise NotImplementedError

    def tracker_factory(self, exported: Path) -> Callable[[], Any]:
        """Fresh trackers on what ``export`` wrote (the epoch choice tracks with them)."""
        return lambda: load_tracker(str(exported))


class TeacherStage(Stage):
    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.model = build_teacher(TeacherConfig.from_dict(config["teacher_model"]))
        if config["init"]["checkpoint"]:
            _load_init_weights(self.model, config["init"]["checkpoint"])
        c = self.model.config
        self.template_size, self.search_size, self.patch_size = c.template_size, c.search_size, c.patch_size

    def losses(self, model: nn.Module, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        t = batch["template_images"]
        out = model(t[:, 0], t[:, 1], batch["search_images"])
        return self._box_terms(out["pred_boxes"], batch)

    def export(self, path: Path, meta: Mapping[str, Any]) -> Path:
        factor = trained_search_factor(self.config, self.patch_size, self.template_size, self.search_size)
        save_teacher(self.model, path, meta=meta, search_factor=factor)
        return path

    def tracker_factory(self, exported: Path) -> Callable[[], Any]:
        from .synthetic_eval import teacher_tracker  # a MixViT tracks through the core's PyTorch backend

        teacher, factor = read_teacher(str(exported))
        return lambda: teacher_tracker(teacher, search_factor=factor)


class StudentStage(Stage):
    """MixFormerV2 on ground truth; the base of the distillation stages."""

    adds_target_attention = True  # whether losses() adds the optional target-attention term

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.model = self._build_student()
        c = self.model.config
        self.template_size, self.search_size, self.patch_size = c.template_size, c.search_size, c.patch_size
        if self.adds_target_attention and self.weights["attn"] and c.depth < 2:  # it reads the last block's input
            raise ValueError(f"loss weight attn needs a student of at least two blocks, this one has {c.depth}")

    def _build_student(self) -> MixFormerV2:
        config = student_config(self.config["model"])
        init = self.config["init"]["checkpoint"]
        if not init:
            return build_model(config)
        try:
            previous = load_model(init)
        except CheckpointError:  # not a MixFormerV2 checkpoint: MAE / ViT weights for the backbone
            model = build_model(config)
            _load_init_weights(model, init)
            return model
        return self._adapt_previous(previous, config, init)

    def _adapt_previous(self, previous: MixFormerV2, config: ModelConfig, path: str) -> MixFormerV2:
        if previous.config != config:
            raise CheckpointError(f"{path} holds {previous.config}, but this stage's model is {config}")
        return previous

    def _student_forward(self, model: nn.Module, batch: Mapping[str, Tensor], **kwargs: Any) -> dict:
        t = batch["template_images"]
        return model(t[:, 0], t[:, 1], batch["search_images"], softmax=False, run_score_head=False, **kwargs)

    def _add_target_attention(self, terms: dict[str, Tensor], out: Mapping[str, Any],
                              batch: Mapping[str, Tensor]) -> None:
        """Optional aid (weight ``attn``): the prediction tokens' last-block attention mass on the target.

        Recomputed from the last block's input for the four query rows only (cheap); docs/training.md says
        when it is needed.
        """
        weight = self.weights["attn"]
        if not weight:
            return
        config = self.model.config
        features = out["distill_feat_list"]
        probs = self.model.backbone.blocks[-1].query_attention(features[-2], config.num_reg_tokens)
        search_probs = probs[..., -(config.num_search_tokens + config.num_reg_tokens):-config.num_reg_tokens]
        cells = losses.TARGET_CELLS[self.train_cfg["target_attention"]](batch["search_anno"], config.search_grid)
        terms["attn"] = losses.target_attention(search_probs, cells)
        terms["total"] = terms["total"] + weight * terms["attn"]

    def _check_feature_pairs(self, teacher: Any, path: str) -> list[tuple[int, int]]:
        """``feature_pairs`` as tuples, refused where ``teacher`` (its config) cannot be mimicked block for block."""
        pairs = [tuple(int(i) for i in pair) for pair in self.train_cfg["feature_pairs"]]
        student = self.model.config
        if pairs and teacher.embed_dim != student.embed_dim:
            raise ValueError(f"feature_pairs need the teacher's width; teacher {path} has {teacher.embed_dim}, "
                             f"the student {student.embed_dim}")
        for s, t in pairs:
            if not (0 <= s < student.depth and 0 <= t < teacher.depth):
                raise ValueError(f"feature pair {(s, t)} is outside student depth {student.depth} "
                                 f"/ teacher depth {teacher.depth}")
        return pairs

    def _add_feature_mimic(self, terms: dict[str, Tensor], out: Mapping[str, Any],
                           teacher_out: Mapping[str, Any]) -> None:
        """Feature mimicking (weight ``feat``) on the block pairs ``feature_pairs``, where any are set."""
        if self.pairs:
            terms["feat"] = losses.feature_mimic(out["distill_feat_list"], teacher_out["distill_feat_list"], self.pairs)
            terms["total"] = terms["total"] + self.weights["feat"] * terms["feat"]

    def losses(self, model: nn.Module, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        out = self._student_forward(model, batch)
        terms = self._box_terms(out["pred_boxes"], batch)
        self._add_target_attention(terms, out, batch)
        return terms

    def export(self, path: Path, meta: Mapping[str, Any]) -> Path:
        from .export import export_student  # the one route from a run to a tracking checkpoint

        return export_student(self.config, self.model, self.epoch).save(path, meta)


def _teacher_kl_targets(out: Mapping[str, Tensor]) -> dict[str, Tensor]:
    if "prob_tl" in out:
        return losses.marginalize_corners(out["prob_tl"], out["prob_br"])
    return {side: out[f"prob_{side}"] for side in losses.SIDES}


class DenseToSparseStage(StudentStage):
    """Stage 1: the corner-head teacher's marginalised heat maps teach the four prediction tokens."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        path = config["teacher"]["checkpoint"]
        if not path:
            raise ValueError("stage dense_to_sparse needs teacher.checkpoint (a MixViT teacher)")
        self.teacher = load_teacher(path)
        tc = self.teacher.config
        if (tc.template_size, tc.search_size) != (self.template_size, self.search_size):
            raise CheckpointError(f"teacher {path} uses {tc.template_size}/{tc.search_size} crops, "
                                  f"the student {self.template_size}/{self.search_size}")
        self.pairs = self._check_feature_pairs(tc, path)

    def losses(self, model: nn.Module, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        out = self._student_forward(model, batch)
        terms = self._box_terms(out["pred_boxes"], batch)
        with torch.no_grad():
            t = batch["template_images"]
            teacher_out = self.teacher(t[:, 0], t[:, 1], batch["search_images"])
        student_logits = {side: out[f"prob_{side}"] for side in losses.SIDES}
        terms["kl"] = losses.distribution_kl(student_logits, _teacher_kl_targets(teacher_out))
        terms["total"] = terms["total"] + self.weights["kl"] * terms["kl"]
        self._add_feature_mimic(terms, out, teacher_out)
        self._add_target_attention(terms, out, batch)
        return terms


class DeepToShallowStage(StudentStage):
    """Stage 2: progressive depth pruning / MLP reduction against a frozen MixFormerV2 teacher."""

    adds_target_attention = False

    def __init__(self, config: Mapping[str, Any]) -> None:
        tc = config["train"]
        super().__init__(config)
        path = config["teacher"]["checkpoint"]
        if not path:
            raise ValueError("stage deep_to_shallow needs teacher.checkpoint (a MixFormerV2 checkpoint)")
        self.teacher = load_model(path)
        self.remove_layers = check_layers(self.model.config.depth, tc["remove_layers"])
        self.pairs = self._check_feature_pairs(self.teacher.config, path)
        for index in self.remove_layers:  # eliminated blocks are frozen, as in the reference
            for p in self.model.backbone.blocks[index].parameters():
                p.requires_grad_(False)
        self.find_unused_parameters = bool(self.remove_layers)

    def _adapt_previous(self, previous: MixFormerV2, config: ModelConfig, path: str) -> MixFormerV2:
        if previous.config.mlp_hidden_dim != config.mlp_hidden_dim:
            previous = slice_mlps(previous, config.mlp_ratio)
        if previous.config.replace(drop_path_rate=config.drop_path_rate) != config:
            raise CheckpointError(f"{path} holds {previous.config}; this stage's student is {config} "
                                  "(only the MLP width may shrink between stages)")
        return previous

    def gammas(self) -> list[float]:
        gamma = pruning_gamma(self.epoch, self.train_cfg["pruning_epochs"])
        return block_gammas(self.model.config.depth, self.remove_layers, gamma)

    def losses(self, model: nn.Module, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        kwargs = {"block_gammas": self.gammas()} if self.remove_layers else {}
        out = self._student_forward(model, batch, **kwargs)
        terms = self._box_terms(out["pred_boxes"], batch)
        with torch.no_grad():
            t = batch["template_images"]
            teacher_out = self.teacher(t[:, 0], t[:, 1], batch["search_images"], softmax=True, run_score_head=False)
        student_logits = {side: out[f"prob_{side}"] for side in losses.SIDES}
        terms["kl"] = losses.distribution_kl(student_logits, _teacher_kl_targets(teacher_out))
        terms["total"] = terms["total"] + self.weights["kl"] * terms["kl"]
        self._add_feature_mimic(terms, out, teacher_out)
        return terms

class ScoreStage(StudentStage):
    """Stage 3: the score head alone learns whether the search crop holds the target."""

    score_labels = True
    adds_target_attention = False

    def __init__(self, config: Mapping[str, Any]) -> None:
        if not config["init"]["checkpoint"]:
            raise ValueError("stage score needs init.checkpoint (the previous stage's model)")
        super().__init__(config)
        for name, p in self.model.named_parameters():
            p.requires_grad_(name.startswith("score_head."))
        self.find_unused_parameters = True

    def _adapt_previous(self, previous: MixFormerV2, config: ModelConfig, path: str) -> MixFormerV2:
        if previous.config.score_head:
            return previous
        model = MixFormerV2(previous.config.replace(score_head=True))
        model.load_state_dict(previous.state_dict(), strict=False)
        return model

    def losses(self, model: nn.Module, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        t = batch["template_images"]
        out = model(t[:, 0], t[:, 1], batch["search_images"], softmax=False, run_score_head=True)
        labels = self._labels(out, batch)
        bce = F.binary_cross_entropy_with_logits(out["pred_scores"].float(), labels)
        accuracy = ((out["pred_scores"] > 0) == (labels > 0.5)).float().mean().detach()
        return {"score_bce": bce, "score_acc": accuracy, "score_target_mean": labels.mean(),
                "total": self.weights["score"] * bce}

    def _labels(self, out: Mapping[str, Tensor], batch: Mapping[str, Tensor]) -> Tensor:
        """Presence of the target, or with ``score_label: iou`` the overlap of the model's own box with it
        (soft BCE target): the tracker asks whether its box is right, and a crop that holds the target but
        is measured wrong is not a tracked frame.
        """
        labels = batch["label"].float()
        if self.train_cfg["score_label"] == "iou":
            labels = labels * losses.prediction_iou(out["pred_boxes"], batch["search_anno"]).reshape(labels.shape)
        return labels


STAGE_CLASSES = {"teacher": TeacherStage, "student": StudentStage, "dense_to_sparse": DenseToSparseStage,
                 "deep_to_shallow": DeepToShallowStage, "score": ScoreStage}


def build_stage(config: Mapping[str, Any]) -> Stage:
    return STAGE_CLASSES[config["stage"]](config)
