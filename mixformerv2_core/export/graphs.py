"""The two deployable graphs of the cached path, as plain modules with tensor-only inputs and outputs.

Splitting the network where the templates stop depending on the search image lets an inference engine
run the template encoder once per template update and only the search step per frame.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..models.heads import SIDES
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


class SearchStepGraph(nn.Module):
    """``(search, template_kv)`` -> box ``(B, 4)`` cxcywh, bin probabilities ``(B, 4, bins)`` in l, r, t, b
    order, and the score logit ``(B,)`` (+inf when the network has no score head).

    The network's own inference step (``forward_search`` with the last block trimmed to the prediction tokens).
    """

    def __init__(self, model: MixFormerV2) -> None:
        super().__init__()
        self.model = model

    def forward(self, search: Tensor, template_kv: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return graph_outputs(self.model.forward_search(search, template_kv, trim_last_block=True))


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
    """What the search step must reproduce: the network's untrimmed cached forward."""
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
