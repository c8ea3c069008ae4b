"""Network definitions shared by training, inference and export."""
from .heads import DistributionBoxHead, ScoreHead
from .layers import Block, DropPath, MixedAttention, Mlp, PatchEmbed
from .mixformerv2 import MixFormerV2, MixFormerV2Backbone, build_model, init_weights
from .pos_embed import sincos_2d_table

__all__ = [
    "Block", "DistributionBoxHead", "DropPath", "MixFormerV2", "MixFormerV2Backbone", "MixedAttention", "Mlp",
    "PatchEmbed", "ScoreHead", "build_model", "init_weights", "sincos_2d_table",
]
