"""The two deployable graphs of the cached path, as plain modules with tensor-only inputs and outputs.

Splitting the network where the templates stop depending on the search image lets an inference engine
run the template encoder once per template update and only the search step per frame.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.heads import SIDES
from ..models.layers import Block
from ..models.mixformerv2 import MixFormerV2

ENCODER_INPUTS = ("template", "online_template")
ENCODER_OUTPUTS = ("template_kv",)
SEARCH_INPUTS = ("search", "template_kv")
SEARCH_OUTPUTS = ("pred_boxes", "bin_probs", "score_logits")


class TemplateEncoderGraph(nn.Module):
    """``(template, online_template)`` -> per-layer keys/values ``(depth, 2, B, heads, Nt_total, head_dim)``."""

    def __init__(self, model: MixFormerV2) -> None:
        super().__init__()
        self.model = model

    def forward(self, template: Tensor, online_template: Tensor) -> Tensor:
        return self.model.backbone.encode_templates(template, online_template)


def split_qkv(linear: nn.Linear, dim: int) -> tuple[nn.Linear, nn.Linear]:
    """The fused qkv projection as separate q and kv projections (copies of the weights)."""
    has_bias = linear.bias is not None
    q = nn.Linear(linear.in_features, dim, bias=has_bias)
    kv = nn.Linear(linear.in_features, linear.out_features - dim, bias=has_bias)
    with torch.no_grad():
        q.weight.copy_(linear.weight[:dim])
        kv.weight.copy_(linear.weight[dim:])
        if has_bias:
            q.bias.copy_(linear.bias[:dim])
            kv.bias.copy_(linear.bias[dim:])
    return q.to(linear.weight.dtype), kv.to(linear.weight.dtype)


class PredictionTokenBlock(nn.Module):
    """The last block's output for the prediction tokens only (eval mode, gamma 1).

    The heads read nothing else, so the last block needs keys/values of every token but queries, attention
    output, projection and MLP only for the prediction tokens: the same numbers for about a fifth less
    arithmetic in MixFormerV2-S. The q/kv split is done once here so that exporters see plain weights.
    """

    def __init__(self, block: Block, num_reg: int) -> None:
        super().__init__()
        self.block = block
        self.num_reg = num_reg
        self.q, self.kv = split_qkv(block.attn.qkv, block.attn.num_heads * block.attn.head_dim)

    def forward(self, x: Tensor, template_kv: Tensor) -> Tensor:
        attn = self.block.attn
        batch, tokens, _ = x.shape
        normed = self.block.norm1(x)
        kv = self.kv(normed).reshape(batch, tokens, 2, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
        q = self.q(normed[:, -self.num_reg:]).reshape(batch, self.num_reg, attn.num_heads, attn.head_dim)
        k = torch.cat([template_kv[0], kv[0]], dim=2)
        v = torch.cat([template_kv[1], kv[1]], dim=2)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k, v)
        return self.block._residuals(x[:, -self.num_reg:], attn._merge_heads(out), 1.0)


class SearchStepGraph(nn.Module):
    """``(search, template_kv)`` -> box ``(B, 4)`` cxcywh, bin probabilities ``(B, 4, bins)`` in l, r, t, b
    order, and the score logit ``(B,)`` (+inf when the network has no score head).

    Equal to ``MixFormerV2.forward_search`` (eval mode); the last block runs for the prediction tokens only.
    """

    def __init__(self, model: MixFormerV2) -> None:
        super().__init__()
        self.model = model
        self.last_block = PredictionTokenBlock(model.backbone.blocks[-1], model.config.num_reg_tokens)

    def forward(self, search: Tensor, template_kv: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        backbone = self.model.backbone
        x = backbone.embed_search(search)
        for index, block in enumerate(backbone.blocks[:-1]):
            x = block.forward_search(x, template_kv[index])
        reg = self.last_block(x, template_kv[-1])
        return graph_outputs(self.model._heads(reg, softmax=True, run_score_head=True))


def graph_outputs(out: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """Box, stacked bin probabilities and score logit from a network output dict."""
    probs = torch.stack([out[f"prob_{side}"] for side in SIDES], dim=1)
    if "pred_scores" in out:
        scores = out["pred_scores"]
    else:
        scores = torch.full_like(out["pred_boxes"][:, 0, 0], float("inf"))
    return out["pred_boxes"][:, 0], probs, scores


@torch.no_grad()
def reference_search_outputs(model: MixFormerV2, search: Tensor, template_kv: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """What the search step must reproduce: the network's own cached forward."""
    return graph_outputs(model.eval().forward_search(search, template_kv))


def example_inputs(model: MixFormerV2, batch: int, seed: int = 0) -> dict[str, Tensor]:
    """Deterministic inputs of the right shapes (roughly the range of normalised images)."""
    config = model.config
    generator = torch.Generator().manual_seed(seed)
    t, s = config.template_size, config.search_size
    template = torch.randn(batch, 3, t, t, generator=generator)
    online = torch.randn(batch, 3, t, t, generator=generator)
    search = torch.randn(batch, 3, s, s, generator=generator)
    with torch.no_grad():
        kv = TemplateEncoderGraph(model).eval()(template, online)
    return {"template": template, "online_template": online, "search": search, "template_kv": kv}
