"""Model configurations as data: the released variants are presets of one dataclass."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union


@dataclass(frozen=True)
class CropSpec:
    """What tracking needs to know of a network: its patch and crop sizes. They also pick the network's row of
    ``VARIANT_TRACKING`` (:func:`tracking_defaults`), so a backend hands the tracker this and nothing more.
    """

    patch_size: int
    template_size: int
    search_size: int

    @property
    def family(self) -> Optional[str]:
        """The released variant cropped this way (``None``: generic defaults)."""
        return crop_family(self.patch_size, self.template_size, self.search_size)


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
    def crop_spec(self) -> CropSpec:
        """The part of this configuration the tracker reads (derived here only)."""
        return CropSpec(self.patch_size, self.template_size, self.search_size)

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


@dataclass(frozen=True)
class TrackingDefaults:
    """How a variant is tracked, and how its training crops are cut: the one table every entry point
    (tracker, node, CLIs, training, export) derives from. docs/tracker.md explains each number.
    """

    search_factor: float  # test time: the factor the official test script passes
    train_search_factor: float  # training search crops of the official stage configs
    template_factor: float = 2.0
    update_interval: int = 200
    update_threshold: float = 0.5
    presets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


VARIANT_TRACKING: dict[str, TrackingDefaults] = {
    "B": TrackingDefaults(search_factor=5.0, train_search_factor=5.0, presets={
        "lasot": {"search_factor": 5.0, "update_interval": 200},
        "got10k_test": {"search_factor": 5.0, "update_interval": 10},
        "trackingnet": {"search_factor": 5.0, "update_interval": 25},
        "vot20": {"search_factor": 5.0, "update_interval": 10},
        "vot20lt": {"search_factor": 5.0, "update_interval": 200},
        "vot22stb": {"search_factor": 5.0, "update_interval": 10},
        "tnl2k": {"search_factor": 5.0, "update_interval": 200},
    }),
    "S": TrackingDefaults(search_factor=4.4, train_search_factor=4.5, presets={
        "lasot": {"search_factor": 4.4, "update_interval": 200},
        "got10k_test": {"search_factor": 4.55, "update_interval": 15},
        "trackingnet": {"search_factor": 4.55, "update_interval": 25},
        "vot20": {"search_factor": 4.55, "update_interval": 10},
        "vot20lt": {"search_factor": 4.55, "update_interval": 200},
        "vot22stb": {"search_factor": 4.55, "update_interval": 10},
        "tnl2k": {"search_factor": 4.55, "update_interval": 200},
    }),
}
# Any other network (tiny test models, the demo model): B's numbers, which are also the official code's own.
GENERIC_TRACKING = dataclasses.replace(VARIANT_TRACKING["B"])


def tracking_family(config: Union[ModelConfig, CropSpec]) -> Optional[str]:
    """The released variant ``config`` is, or is being distilled into: same patch and crop sizes.

    Distillation intermediates (a 12-block student at 224, an S before MLP reduction) are cropped and tracked
    like the variant they become, so they share its row of ``VARIANT_TRACKING``.
    """
    spec = config if isinstance(config, CropSpec) else config.crop_spec
    return spec.family


def crop_family(patch_size: int, template_size: int, search_size: int) -> Optional[str]:
    """The released variant with these patch and crop sizes (teachers and students of its route share them)."""
    for name, preset in VARIANTS.items():
        if (patch_size, template_size, search_size) == (preset.patch_size, preset.template_size, preset.search_size):
            return name
    return None


def tracking_defaults(config: Union[ModelConfig, CropSpec]) -> TrackingDefaults:
    """The row of ``VARIANT_TRACKING`` a network of these crop sizes is tracked with."""
    family = tracking_family(config)
    return VARIANT_TRACKING[family] if family is not None else GENERIC_TRACKING


def training_crop_defaults(patch_size: int, template_size: int, search_size: int) -> dict[str, float]:
    """Template and search factors the official stage configs crop training samples of these sizes with."""
    row = tracking_defaults(CropSpec(patch_size, template_size, search_size))
    return {"template_factor": row.template_factor, "search_factor": row.train_search_factor}


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


__all__ = ["CropSpec", "GENERIC_TRACKING", "ModelConfig", "TrackingDefaults", "VARIANTS", "VARIANT_TRACKING", "crop_family", "tracking_defaults",
           "training_crop_defaults",
           "tracking_family", "variant_config", "variant_name"]
