"""Corner heads of the MixViT teacher (docs/training.md): plain (stride 16) and pyramidal (stride 4).

Each corner (top-left ``tl``, bottom-right ``br``) gets a score map; its soft-argmax is the corner and its
softmax is the heat map that dense-to-sparse distillation marginalises. Module names follow the released
MixViT checkpoints (``conv1_tl.0.weight`` ...).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CORNERS = ("tl", "br")


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU())


class CornerHead(nn.Module):
    """``pyramidal=False``: 4 conv blocks + 1x1 on the token grid. ``True``: two x2 upsamplings with skip paths."""

    def __init__(self, in_dim: int, channel: int, grid: int, pyramidal: bool) -> None:
        super().__init__()
        self.pyramidal = pyramidal
        self.feat_sz = grid * 4 if pyramidal else grid
        for corner in CORNERS:
            self.add_module(f"conv1_{corner}", conv_bn_relu(in_dim, channel))
            self.add_module(f"conv2_{corner}", conv_bn_relu(channel, channel // 2))
            self.add_module(f"conv3_{corner}", conv_bn_relu(channel // 2, channel // 4))
            self.add_module(f"conv4_{corner}", conv_bn_relu(channel // 4, channel // 8))
            self.add_module(f"conv5_{corner}", nn.Conv2d(channel // 8, 1, kernel_size=1))
            if pyramidal:
                self.add_module(f"adjust1_{corner}", conv_bn_relu(in_dim, channel // 2))
                self.add_module(f"adjust2_{corner}", conv_bn_relu(in_dim, channel // 4))
                self.add_module(f"adjust3_{corner}", nn.Sequential(
                    conv_bn_relu(channel // 2, channel // 4), conv_bn_relu(channel // 4, channel // 8),
                    conv_bn_relu(channel // 8, 1)))
                self.add_module(f"adjust4_{corner}", nn.Sequential(
                    conv_bn_relu(channel // 4, channel // 8), conv_bn_relu(channel // 8, 1)))
        positions = torch.arange(self.feat_sz, dtype=torch.float32) / self.feat_sz
        self.register_buffer("coord_x", positions.repeat(self.feat_sz), persistent=False)  # column of each cell
        self.register_buffer("coord_y", positions.repeat_interleave(self.feat_sz), persistent=False)  # row

    def _layer(self, name: str, corner: str) -> nn.Module:
        return getattr(self, f"{name}_{corner}")

    def score_map(self, x: Tensor, corner: str) -> Tensor:
        layer = lambda name: self._layer(name, corner)  # noqa: E731
        up = lambda t, s: F.interpolate(t, scale_factor=s, mode="nearest")  # noqa: E731
        x2 = layer("conv2")(layer("conv1")(x))
        if not self.pyramidal:
            return layer("conv5")(layer("conv4")(layer("conv3")(x2)))
        x3 = layer("conv3")(up(x2, 2) + up(layer("adjust1")(x), 2))
        x4 = layer("conv4")(up(x3, 2) + up(layer("adjust2")(x), 4))
        return layer("conv5")(x4) + up(layer("adjust3")(x2), 4) + up(layer("adjust4")(x3), 2)

    def forward(self, search_map: Tensor, softmax: bool = True) -> dict[str, Tensor]:
        """``search_map`` is ``(B, C, g, g)``; returns ``pred_boxes (B,1,4)`` cxcywh and ``prob_tl/prob_br (B,F*F)``."""
        out, corners = {}, []
        for corner in CORNERS:
            scores = self.score_map(search_map, corner).flatten(1).float()
            probs = scores.softmax(dim=-1)
            corners.append(torch.stack([probs @ self.coord_x, probs @ self.coord_y], dim=-1))
            out[f"prob_{corner}"] = probs if softmax else scores
        (x1, y1), (x2, y2) = corners[0].unbind(-1), corners[1].unbind(-1)
        out["pred_boxes"] = torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1).unsqueeze(1)
        return out
