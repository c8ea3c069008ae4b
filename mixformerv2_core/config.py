"""Model configurations as data: the released variants are presets of one dataclass."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a MixFormerV2 network (and nothing about tracking).

    Defaults are MixFormerV2-B; ``VARIANTS`` holds the released presets.
    """

    embed_dim: int = 768
    depth: int = 8
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16
    template_size: int = 128
    search_size: int = 288
    feat_sz: int = 96  # distribution bins per box side
    num_reg_tokens: int = 4
    head_hidden_dim: int = 768
    qkv_bias: bool = True
    drop_path_rate: float = 0.1  # only active in training mode
    score_head: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.embed_dim % self.num_heads:
            problems.append(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        for name in ("template_size", "search_size"):
            if getattr(self, name) % self.patch_size:
                problems.append(f"{name} {getattr(self, name)} is not a multiple of patch_size {self.patch_size}")
        if self.num_reg_tokens != 4:
            problems.append("num_reg_tokens must be 4 (one prediction token per box side: l, r, t, b)")
        if self.depth < 1 or self.feat_sz < 2 or self.mlp_hidden_dim < 1:
            problems.append("depth >= 1, feat_sz >= 2 and a positive MLP width are required")
        if problems:
            raise ValueError("invalid ModelConfig: " + "; ".join(problems))

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    @property
    def mlp_hidden_dim(self) -> int:
        return int(round(self.embed_dim * self.mlp_ratio))

    @property
    def template_grid(self) -> int:
        return self.template_size // self.patch_size

    @property
    def search_grid(self) -> int:
        return self.search_size // self.patch_size

    @property
    def num_template_tokens(self) -> int:
        return self.template_grid**2

    @property
    def num_search_tokens(self) -> int:
        return self.search_grid**2

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {unknown}; known keys: {sorted(known)}")
        return cls(**dict(values))

    @classmethod
    def from_yaml(cls, path: str | Path) -> "ModelConfig":
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        base = data.pop("variant", None)
        config = VARIANTS[base] if base else cls()
        return dataclasses.replace(config, **data) if data else config

    def replace(self, **changes: Any) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    @classmethod
    def tiny(cls, **changes: Any) -> "ModelConfig":
        """A few-hundred-kilobyte network for tests and smoke runs."""
        values = dict(
            embed_dim=64,
            depth=2,
            num_heads=4,
            mlp_ratio=2.0,
            patch_size=16,
            template_size=32,
            search_size=64,
            feat_sz=16,
            head_hidden_dim=64,
        )
        values.update(changes)
        return cls(**values)


VARIANTS: dict[str, ModelConfig] = {
    "B": ModelConfig(depth=8, mlp_ratio=4.0, template_size=128, search_size=288),
    "S": ModelConfig(depth=4, mlp_ratio=1.0, template_size=112, search_size=224),
}


def variant_config(name: str) -> ModelConfig:
    """Look up a released variant by name ("B"/"S", case-insensitive, "base"/"small" accepted)."""
    aliases = {"base": "B", "small": "S", "b": "B", "s": "S"}
    key = aliases.get(name.lower(), name) if isinstance(name, str) else name
    if key not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose one of {sorted(VARIANTS)}")
    return VARIANTS[key]


def variant_name(config: ModelConfig) -> str | None:
    """Name of the released variant whose architecture equals ``config`` (drop-path ignored)."""
    for name, preset in VARIANTS.items():
        if dataclasses.replace(config, drop_path_rate=preset.drop_path_rate) == preset:
            return name
    return None


__all__ = ["ModelConfig", "VARIANTS", "variant_config", "variant_name"]
