"""Transformer building blocks with MixFormerV2's asymmetric mixed attention.

Templates attend only to templates; search and prediction tokens attend to everything. Because template
tokens never see the search image, their keys/values can be computed once per template update and reused
every frame (the cached path), which the official tracker left unused.
"""
from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Gamma = Union[float, Tensor]


class DropPath(nn.Module):
    """Stochastic depth per sample (identity in eval mode)."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: Tensor) -> Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


class PatchEmbed(nn.Module):
    """Non-overlapping patches to tokens, row-major (``token = row * W' + col``)."""

    def __init__(self, patch_size: int, embed_dim: int, in_chans: int = 3) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, image: Tensor) -> Tensor:
        return self.proj(image).flatten(2).transpose(1, 2)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class MixedAttention(nn.Module):
    """Prediction-token-involved mixed attention (paper eq. 1) with one fused qkv projection."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def _split_heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        batch, tokens, _ = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]

    def _merge_heads(self, x: Tensor) -> Tensor:
        batch, _, tokens, _ = x.shape
        return self.proj(x.transpose(1, 2).reshape(batch, tokens, self.num_heads * self.head_dim))

    def forward(self, x: Tensor, num_template_tokens: int) -> Tensor:
        """Full sequence ``[templates | search | prediction tokens]``."""
        q, k, v = self._split_heads(x)
        t = num_template_tokens
        out_t = F.scaled_dot_product_attention(q[:, :, :t], k[:, :, :t], v[:, :, :t])
        out_s = F.scaled_dot_product_attention(q[:, :, t:], k, v)
        return self._merge_heads(torch.cat([out_t, out_s], dim=2))

    def forward_templates(self, x_t: Tensor) -> tuple[Tensor, Tensor]:
        """Template tokens alone; also returns their ``(2, B, heads, Nt, head_dim)`` keys/values."""
        q, k, v = self._split_heads(x_t)
        out = F.scaled_dot_product_attention(q, k, v)
        return self._merge_heads(out), torch.stack([k, v])

    def _last_queries_and_all_kv(self, x: Tensor, num_queries: int) -> tuple[Tensor, Tensor, Tensor]:
        """Queries of the last ``num_queries`` tokens only; keys/values of every token.

        The fused projection's weight rows are sliced (views, no copy), so exporters constant-fold them into
        plain q and kv weights (the split point is a Python int for that reason, not a traced shape).
        """
        batch, tokens, _ = x.shape
        dim = self.num_heads * self.head_dim
        weight, bias = self.qkv.weight, self.qkv.bias
        q = F.linear(x[:, -num_queries:], weight[:dim], None if bias is None else bias[:dim])
        kv = F.linear(x, weight[dim:], None if bias is None else bias[dim:])
        q = q.reshape(batch, num_queries, self.num_heads, self.head_dim).transpose(1, 2)
        kv = kv.reshape(batch, tokens, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return q, kv[0], kv[1]

    def query_attention(self, x: Tensor, num_queries: int) -> Tensor:
        """Attention probabilities ``(B, heads, num_queries, tokens)`` of the last ``num_queries`` tokens.

        For a full sequence whose last tokens are search-side queries (they attend to every token). Training
        reads it to supervise where the prediction tokens look; inference never needs it.
        """
        q, k, _ = self._last_queries_and_all_kv(x, num_queries)
        return (q @ k.transpose(-2, -1) * self.head_dim**-0.5).softmax(dim=-1)

    def forward_search(self, x_s: Tensor, template_kv: Tensor, num_queries: Optional[int] = None) -> Tensor:
        """Search + prediction tokens attending to cached template keys/values and to themselves.

        With ``num_queries`` only the last ``num_queries`` tokens get an output (they still attend to all).
        """
        if num_queries is None:
            q, k, v = self._split_heads(x_s)
        else:
            q, k, v = self._last_queries_and_all_kv(x_s, num_queries)
        k = torch.cat([template_kv[0], k], dim=2)
        v = torch.cat([template_kv[1], v], dim=2)
        return self._merge_heads(F.scaled_dot_product_attention(q, k, v))


class Block(nn.Module):
    """Pre-norm P-MAM block.

    ``gamma`` scales both residual branches; it is the progressive depth-pruning factor of the paper
    (1 for kept layers, decaying to 0 for eliminated ones, which then are exact identities).
    """

    def __init__(self, dim: int, num_heads: int, mlp_hidden_dim: int, qkv_bias: bool, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MixedAttention(dim, num_heads, qkv_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_hidden_dim)

    def _branch(self, x: Tensor, gamma: Gamma) -> Tensor:
        x = self.drop_path(x)
        if isinstance(gamma, float) and gamma == 1.0:
            return x
        return x * gamma

    def _residuals(self, x: Tensor, attn_out: Tensor, gamma: Gamma) -> Tensor:
        x = x + self._branch(attn_out, gamma)
        return x + self._branch(self.mlp(self.norm2(x)), gamma)

    def forward(self, x: Tensor, num_template_tokens: int, gamma: Gamma = 1.0) -> Tensor:
        return self._residuals(x, self.attn(self.norm1(x), num_template_tokens), gamma)

    def query_attention(self, x: Tensor, num_queries: int) -> Tensor:
        """Where the last ``num_queries`` tokens of this block's input ``x`` look (see MixedAttention)."""
        return self.attn.query_attention(self.norm1(x), num_queries)

    def forward_templates(self, x_t: Tensor, gamma: Gamma = 1.0) -> tuple[Tensor, Tensor]:
        attn_out, kv = self.attn.forward_templates(self.norm1(x_t))
        return self._residuals(x_t, attn_out, gamma), kv

    def forward_search(self, x_s: Tensor, template_kv: Tensor, gamma: Gamma = 1.0,
                       num_queries: Optional[int] = None) -> Tensor:
        """Search + prediction tokens; with ``num_queries`` the output holds only the last that many tokens."""
        attn_out = self.attn.forward_search(self.norm1(x_s), template_kv, num_queries)
        residual = x_s if num_queries is None else x_s[:, -num_queries:]
        return self._residuals(residual, attn_out, gamma)
