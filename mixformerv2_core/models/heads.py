"""Prediction heads: the distribution box head (4 tokens, shared MLP) and the MLP score head."""
from __future__ import annotations

import torch
from torch import Tensor, nn

SIDES = ("l", "r", "t", "b")  # prediction-token order in the official code


class DistributionBoxHead(nn.Module):
    """One MLP shared by the four prediction tokens; each token yields a distribution over ``feat_sz`` bins.

    A coordinate is the expectation of its distribution over bin positions ``k / feat_sz`` (normalised
    crop units). Key names (``layers.0.0`` ...) follow the released checkpoints.
    """

    def __init__(self, in_dim: int, hidden_dim: int, feat_sz: int) -> None:
        super().__init__()
        self.feat_sz = feat_sz
        self.layers = nn.ModuleList(
            [
                nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.ReLU()),
                nn.Sequential(nn.Linear(hidden_dim, feat_sz), nn.LayerNorm(feat_sz)),
            ]
        )
        # Not state: the released checkpoints carry no buffer, so it must stay out of the state dict.
        self.register_buffer("bin_positions", torch.arange(feat_sz, dtype=torch.float32) / feat_sz, persistent=False)

    def forward(self, tokens: Tensor, softmax: bool = True) -> dict[str, Tensor]:
        logits = self.layers[1](self.layers[0](tokens))  # (B, 4, feat_sz)
        probs = logits.softmax(dim=-1)
        left, right, top, bottom = (probs @ self.bin_positions.to(probs.dtype)).unbind(-1)
        boxes = torch.stack([(left + right) / 2, (top + bottom) / 2, right - left, bottom - top], dim=-1)
        dists = probs if softmax else logits
        out = {"pred_boxes": boxes.unsqueeze(1)}
        for index, side in enumerate(SIDES):
            out[f"prob_{side}"] = dists[:, index]
        return out


class ScoreHead(nn.Module):
    """Confidence logit: the MLP runs on each prediction token, then the four outputs are averaged.

    (The paper averages the tokens first; the released weights were trained with this order.)
    """

    def __init__(self, in_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU()), nn.Linear(hidden_dim, 1)])

    def forward(self, tokens: Tensor) -> Tensor:
        return self.layers[1](self.layers[0](tokens)).mean(dim=1).reshape(-1)
