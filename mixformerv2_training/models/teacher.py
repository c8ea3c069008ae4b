"""MixViT: the stage-1 teacher (docs/training.md). A ViT with the asymmetric mixed attention over
``[template, online template, search]`` (no prediction tokens) and a corner head on the search tokens.

The blocks are the core's :class:`~mixformerv2_core.models.Block` (same attention, same key names), so the
teacher's state dict matches the released MixViT checkpoints key for key, including the unused timm
entries (``cls_token``, ``pos_embed``, ``norm``, ``head``) when ``vit_extras`` is on.
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

import torch
from torch import Tensor, nn

from mixformerv2_core.checkpoint import CheckpointError, _torch_load, atomic_torch_save
from mixformerv2_core.config import CropSpec
from mixformerv2_core.models import Block, PatchEmbed, init_weights, sincos_2d_table

from .corner_head import CornerHead

TEACHER_FORMAT = "mixformerv2_training.teacher"
HEAD_TYPES = ("corner", "corner_up")


@dataclass(frozen=True)
class TeacherConfig:
    """Defaults are the reference teacher MixViT-B with the pyramidal corner head (``CORNER_UP``)."""

    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16
    template_size: int = 128
    search_size: int = 288
    head_type: str = "corner_up"
    head_channel: int = 384
    qkv_bias: bool = True
    drop_path_rate: float = 0.1
    vit_extras: bool = True  # timm ViT entries the official checkpoints carry (unused by the forward)

    def __post_init__(self) -> None:
        if self.head_type not in HEAD_TYPES:
            raise ValueError(f"head_type must be one of {HEAD_TYPES}, got {self.head_type!r}")
        if self.embed_dim % self.num_heads or self.head_channel % 8:
            raise ValueError("embed_dim must be divisible by num_heads and head_channel by 8")
        for size in (self.template_size, self.search_size):
            if size % self.patch_size:
                raise ValueError(f"crop size {size} is not a multiple of patch_size {self.patch_size}")

    @property
    def crop_spec(self) -> CropSpec:
        """What the core tracker reads to run this teacher (through ``TorchBackend``'s full forward)."""
        return CropSpec(self.patch_size, self.template_size, self.search_size)

    @property
    def heatmap_size(self) -> int:
        """Side of the corner heat maps: the number of bins a distilled student should use."""
        grid = self.search_size // self.patch_size
        return grid * 4 if self.head_type == "corner_up" else grid

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TeacherConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown teacher config keys {unknown}; known: {sorted(known)}")
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class MixViTBackbone(nn.Module):
    def __init__(self, config: TeacherConfig) -> None:
        super().__init__()
        dim = config.embed_dim
        if config.vit_extras:  # timm's ViT-B/16 (224 px) entries; kept only so official checkpoints load strictly
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, 1 + (224 // config.patch_size) ** 2, dim))
        self.patch_embed = PatchEmbed(config.patch_size, dim)
        rates = [config.drop_path_rate * i / max(config.depth - 1, 1) for i in range(config.depth)]
        self.blocks = nn.ModuleList(
            Block(dim, config.num_heads, int(dim * config.mlp_ratio), config.qkv_bias, rate) for rate in rates
        )
        if config.vit_extras:
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.head = nn.Linear(dim, 1000)
        self.pos_embed_s = nn.Parameter(sincos_2d_table(dim, config.search_size // config.patch_size), requires_grad=False)
        self.pos_embed_t = nn.Parameter(sincos_2d_table(dim, config.template_size // config.patch_size), requires_grad=False)

    def forward(self, template: Tensor, online_template: Tensor, search: Tensor) -> list[Tensor]:
        x_t = torch.cat([self.patch_embed(template) + self.pos_embed_t,
                         self.patch_embed(online_template) + self.pos_embed_t], dim=1)
        x = torch.cat([x_t, self.patch_embed(search) + self.pos_embed_s], dim=1)
        outputs = []
        for block in self.blocks:
            x = block(x, x_t.shape[1])
            outputs.append(x)
        return outputs


class MixViT(nn.Module):
    def __init__(self, config: TeacherConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = MixViTBackbone(config)
        self.box_head = CornerHead(config.embed_dim, config.head_channel, config.search_size // config.patch_size,
                                   pyramidal=config.head_type == "corner_up")

    def forward(self, template: Tensor, online_template: Tensor, search: Tensor, softmax: bool = True) -> dict:
        """Returns ``pred_boxes (B,1,4)`` normalised cxcywh, ``prob_tl``/``prob_br`` and every block's output."""
        features = self.backbone(template, online_template, search)
        grid = self.config.search_size // self.config.patch_size
        search_tokens = features[-1][:, -grid * grid:]
        search_map = search_tokens.transpose(1, 2).reshape(search_tokens.shape[0], -1, grid, grid)
        out = self.box_head(search_map, softmax=softmax)
        out["distill_feat_list"] = features
        return out


def build_teacher(config: Union[TeacherConfig, Mapping[str, Any]]) -> MixViT:
    config = config if isinstance(config, TeacherConfig) else TeacherConfig.from_dict(config)
    model = MixViT(config)
    init_weights(model)
    return model


_BLOCK = re.compile(r"^backbone\.blocks\.(\d+)\.")


def infer_teacher_config(state_dict: Mapping[str, Tensor]) -> TeacherConfig:
    """Architecture of an official MixViT state dict (64-dimensional heads, as the released models)."""
    needed = ("backbone.patch_embed.proj.weight", "backbone.pos_embed_t", "backbone.pos_embed_s", "box_head.conv1_tl.0.weight")
    missing = [key for key in needed if key not in state_dict]
    if missing:
        hint = " (it looks like a MixFormerV2 student)" if "backbone.reg_tokens" in state_dict else ""
        raise CheckpointError(f"not a MixViT teacher state dict{hint}: missing {', '.join(missing)}")
    patch = state_dict["backbone.patch_embed.proj.weight"]
    dim, patch_size = int(patch.shape[0]), int(patch.shape[-1])
    hidden = int(state_dict["backbone.blocks.0.mlp.fc1.weight"].shape[0])
    return TeacherConfig(
        embed_dim=dim,
        depth=1 + max(int(m.group(1)) for key in state_dict if (m := _BLOCK.match(key))),
        num_heads=dim // 64 if dim % 64 == 0 else 1,
        mlp_ratio=hidden / dim,
        patch_size=patch_size,
        template_size=math.isqrt(state_dict["backbone.pos_embed_t"].shape[1]) * patch_size,
        search_size=math.isqrt(state_dict["backbone.pos_embed_s"].shape[1]) * patch_size,
        head_type="corner_up" if "box_head.adjust1_tl.0.weight" in state_dict else "corner",
        head_channel=int(state_dict["box_head.conv1_tl.0.weight"].shape[0]),
        qkv_bias="backbone.blocks.0.attn.qkv.bias" in state_dict,
        vit_extras="backbone.cls_token" in state_dict,
    )


def load_teacher(path: Union[str, os.PathLike], config: Optional[TeacherConfig] = None) -> MixViT:
    """Our teacher checkpoint or an official MixViT ``.pth.tar`` (``'net'`` entry), loaded strictly."""
    return read_teacher(path, config)[0]


def read_teacher(path: Union[str, os.PathLike],
                 config: Optional[TeacherConfig] = None) -> tuple[MixViT, Optional[float]]:
    """:func:`load_teacher` and the search factor saved with the teacher (None: an official file or an older
    export), from one read of the file.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"teacher weights not found: {path}")
    payload = _torch_load(path)
    factor = None
    if isinstance(payload, Mapping) and payload.get("format") == TEACHER_FORMAT:
        state_dict, saved = dict(payload["state_dict"]), TeacherConfig.from_dict(payload["config"])
        factor = None if payload.get("search_factor") is None else float(payload["search_factor"])
    elif isinstance(payload, Mapping) and isinstance(payload.get("net"), Mapping):
        state_dict = {k[len("module."):] if k.startswith("module.") else k: v for k, v in payload["net"].items()}
        saved = infer_teacher_config(state_dict)
    else:
        raise CheckpointError(f"{path} is neither a MixViT checkpoint ('net' entry) nor a teacher saved by this toolkit")
    model = MixViT(config or saved)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{path} does not match the MixViT teacher {config or saved}: {error}") from None
    return model, factor


def save_teacher(model: MixViT, path: Union[str, os.PathLike], meta: Optional[Mapping[str, Any]] = None,
                 search_factor: Optional[float] = None) -> None:
    """``search_factor``: the factor the teacher tracks at (its training crops'), kept for whoever tracks with it."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    atomic_torch_save({"format": TEACHER_FORMAT, "config": model.config.to_dict(), "state_dict": state,
                       "meta": dict(meta or {}), "search_factor": search_factor}, path)

