"""MixFormerV2: one-stream ViT with prediction tokens, distribution box head and score head."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ..config import ModelConfig
from .heads import DistributionBoxHead, ScoreHead
from .layers import Block, Gamma, PatchEmbed
from .pos_embed import sincos_2d_table

OnlineTemplates = Union[Tensor, Sequence[Tensor]]


def _drop_leading_singleton(image: Tensor) -> Tensor:
    # The official forward accepts (1, B, 3, H, W) as produced by its data loader.
    return image.squeeze(0) if image.dim() == 5 and image.shape[0] == 1 else image


def _gammas(block_gammas: Optional[Sequence[Gamma]], depth: int) -> Sequence[Gamma]:
    if block_gammas is None:
        return (1.0,) * depth
    if len(block_gammas) != depth:
        raise ValueError(f"block_gammas has {len(block_gammas)} entries for {depth} blocks")
    return block_gammas


class MixFormerV2Backbone(nn.Module):
    """Patch embedding, fixed sin-cos positions, prediction tokens and the P-MAM blocks (no final norm)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.embed_dim
        # Registration order reproduces the released checkpoints' key order.
        self.pos_embed_s = nn.Parameter(sincos_2d_table(dim, config.search_grid), requires_grad=False)
        self.pos_embed_t = nn.Parameter(sincos_2d_table(dim, config.template_grid), requires_grad=False)
        self.reg_tokens = nn.Parameter(torch.zeros(1, config.num_reg_tokens, dim))
        self.pos_embed_reg = nn.Parameter(torch.zeros(1, config.num_reg_tokens, dim))
        self.patch_embed = PatchEmbed(config.patch_size, dim)
        rates = [config.drop_path_rate * i / max(config.depth - 1, 1) for i in range(config.depth)]
        self.blocks = nn.ModuleList(
            Block(dim, config.num_heads, config.mlp_hidden_dim, config.qkv_bias, rate) for rate in rates
        )

    def embed_templates(self, template: Tensor, online_template: OnlineTemplates) -> Tensor:
        onlines = [online_template] if isinstance(online_template, Tensor) else list(online_template)
        images = [_drop_leading_singleton(template)] + [_drop_leading_singleton(o) for o in onlines]
        return torch.cat([self.patch_embed(image) + self.pos_embed_t for image in images], dim=1)

    def embed_search(self, search: Tensor) -> Tensor:
        x_s = self.patch_embed(_drop_leading_singleton(search)) + self.pos_embed_s
        reg = (self.reg_tokens + self.pos_embed_reg).expand(x_s.shape[0], -1, -1)
        return torch.cat([x_s, reg], dim=1)

    def forward(
        self,
        template: Tensor,
        online_template: OnlineTemplates,
        search: Tensor,
        block_gammas: Optional[Sequence[Gamma]] = None,
    ) -> list[Tensor]:
        """Full forward; returns the output of every block (full sequence ``[T, OT, S, E]``)."""
        x_t = self.embed_templates(template, online_template)
        x = torch.cat([x_t, self.embed_search(search)], dim=1)
        num_t = x_t.shape[1]
        outputs = []
        for block, gamma in zip(self.blocks, _gammas(block_gammas, len(self.blocks))):
            x = block(x, num_t, gamma)
            outputs.append(x)
        return outputs

    def encode_templates(
        self, template: Tensor, online_template: OnlineTemplates, block_gammas: Optional[Sequence[Gamma]] = None
    ) -> Tensor:
        """Template keys/values of every block: ``(depth, 2, B, heads, Nt_total, head_dim)``."""
        x_t = self.embed_templates(template, online_template)
        kvs = []
        for block, gamma in zip(self.blocks, _gammas(block_gammas, len(self.blocks))):
            x_t, kv = block.forward_templates(x_t, gamma)
            kvs.append(kv)
        return torch.stack(kvs)

    def forward_search(
        self,
        search: Tensor,
        template_kv: Tensor,
        block_gammas: Optional[Sequence[Gamma]] = None,
        trim_last_block: bool = False,
    ) -> list[Tensor]:
        """Search + prediction tokens against cached template keys/values; per-block outputs.

        ``trim_last_block`` computes the last block for the prediction tokens only (its output is then
        ``(B, num_reg_tokens, dim)``): the heads read nothing else, so inference skips the queries, attention
        output, projection and MLP of every search token there (about a sixth of MixFormerV2-S's arithmetic).
        Feature mimicking needs the full last output and keeps the default.
        """
        x = self.embed_search(search)
        gammas = _gammas(block_gammas, len(self.blocks))
        last = len(self.blocks) - 1
        outputs = []
        for index, (block, gamma) in enumerate(zip(self.blocks, gammas)):
            num_queries = self.config.num_reg_tokens if trim_last_block and index == last else None
            x = block.forward_search(x, template_kv[index], gamma, num_queries)
            outputs.append(x)
        return outputs


class MixFormerV2(nn.Module):
    """The tracking network. Its state dict is key-for-key the released checkpoints' ``'net'``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = MixFormerV2Backbone(config)
        self.box_head = DistributionBoxHead(config.embed_dim, config.head_hidden_dim, config.feat_sz)
        self.score_head = ScoreHead(config.embed_dim, config.head_hidden_dim) if config.score_head else None

    def _heads(self, reg_tokens: Tensor, softmax: bool, run_score_head: bool) -> dict[str, Tensor]:
        out = self.box_head(reg_tokens, softmax=softmax)
        if run_score_head and self.score_head is not None:
            out["pred_scores"] = self.score_head(reg_tokens)
        out["reg_tokens"] = reg_tokens
        return out

    def forward(
        self,
        template: Tensor,
        online_template: OnlineTemplates,
        search: Tensor,
        softmax: bool = True,
        run_score_head: bool = True,
        block_gammas: Optional[Sequence[Gamma]] = None,
    ) -> dict:
        """Official full forward: every frame runs templates, search and prediction tokens."""
        features = self.backbone(template, online_template, search, block_gammas)
        out = self._heads(features[-1][:, -self.config.num_reg_tokens :], softmax, run_score_head)
        out["distill_feat_list"] = features
        return out

    @torch.no_grad()
    def encode_templates(self, template: Tensor, online_template: OnlineTemplates) -> Tensor:
        """Per-layer template keys/values for the cached path (run once per template update)."""
        return self.backbone.encode_templates(template, online_template)

    def forward_search(
        self,
        search: Tensor,
        template_kv: Tensor,
        softmax: bool = True,
        run_score_head: bool = True,
        block_gammas: Optional[Sequence[Gamma]] = None,
        trim_last_block: bool = False,
    ) -> dict:
        """Cached path: only search and prediction tokens run; equal to the full forward.

        Inference passes ``trim_last_block=True`` (same boxes and scores, less arithmetic; the last entry of
        ``search_feat_list`` then holds the prediction tokens only).
        """
        features = self.backbone.forward_search(search, template_kv, block_gammas, trim_last_block)
        out = self._heads(features[-1][:, -self.config.num_reg_tokens :], softmax, run_score_head)
        out["search_feat_list"] = features
        return out


def init_weights(model: nn.Module) -> None:
    """ViT-style initialisation for training from scratch (truncated normal linears, unit LayerNorms)."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    for module in model.modules():
        if isinstance(module, MixFormerV2Backbone):
            nn.init.trunc_normal_(module.reg_tokens, std=0.02)
            nn.init.zeros_(module.pos_embed_reg)


def build_model(config: Union[ModelConfig, str]) -> MixFormerV2:
    """An untrained network from a configuration or a variant name ("B"/"S")."""
    from ..config import variant_config

    if isinstance(config, str):
        config = variant_config(config)
    model = MixFormerV2(config)
    init_weights(model)
    return model
