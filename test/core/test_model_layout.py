"""The network's state dict is key-for-key and shape-for-shape the released checkpoints' (docs/architecture.md)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mixformerv2_core import VARIANTS
from mixformerv2_core.checkpoint import expected_layout
from mixformerv2_core.models import build_model, sincos_2d_table

BLOCK_KEYS = [
    ("norm1.weight", "C"), ("norm1.bias", "C"), ("attn.qkv.weight", "3C,C"), ("attn.qkv.bias", "3C"),
    ("attn.proj.weight", "C,C"), ("attn.proj.bias", "C"), ("norm2.weight", "C"), ("norm2.bias", "C"),
    ("mlp.fc1.weight", "H,C"), ("mlp.fc1.bias", "H"), ("mlp.fc2.weight", "C,H"), ("mlp.fc2.bias", "C"),
]


def reference_table(depth: int, hidden: int, n_search: int, n_template: int) -> list[tuple[str, tuple]]:
    """The layout written out from the reference document's tables (768 wide, 96 bins)."""
    dims = {"C": 768, "3C": 2304, "H": hidden}
    table = [
        ("backbone.pos_embed_s", (1, n_search, 768)),
        ("backbone.pos_embed_t", (1, n_template, 768)),
        ("backbone.reg_tokens", (1, 4, 768)),
        ("backbone.pos_embed_reg", (1, 4, 768)),
        ("backbone.patch_embed.proj.weight", (768, 3, 16, 16)),
        ("backbone.patch_embed.proj.bias", (768,)),
    ]
    for i in range(depth):
        for name, shape in BLOCK_KEYS:
            table.append((f"backbone.blocks.{i}.{name}", tuple(dims[d] for d in shape.split(","))))
    table += [
        ("box_head.layers.0.0.weight", (768, 768)), ("box_head.layers.0.0.bias", (768,)),
        ("box_head.layers.0.1.weight", (768,)), ("box_head.layers.0.1.bias", (768,)),
        ("box_head.layers.1.0.weight", (96, 768)), ("box_head.layers.1.0.bias", (96,)),
        ("box_head.layers.1.1.weight", (96,)), ("box_head.layers.1.1.bias", (96,)),
        ("score_head.layers.0.0.weight", (768, 768)), ("score_head.layers.0.0.bias", (768,)),
        ("score_head.layers.1.weight", (1, 768)), ("score_head.layers.1.bias", (1,)),
    ]
    return table


@pytest.mark.parametrize(
    "variant, depth, hidden, n_search, n_template, entries, total",
    [("B", 8, 3072, 324, 64, 114, 58_855_201), ("S", 4, 768, 196, 49, 66, 16_228_897)],
)
def test_state_dict_layout_matches_reference(variant, depth, hidden, n_search, n_template, entries, total):
    layout = expected_layout(VARIANTS[variant])
    assert list(layout.items()) == reference_table(depth, hidden, n_search, n_template)
    assert len(layout) == entries
    assert sum(math.prod(shape) for shape in layout.values()) == total


def test_no_buffers_in_state_dict_and_frozen_position_tables():
    model = build_model("S")
    assert set(model.state_dict()) == {name for name, _ in model.named_parameters()}
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"backbone.pos_embed_s", "backbone.pos_embed_t"}
    assert sum(p.numel() for p in model.parameters() if not p.requires_grad) == 188_160


def test_sincos_table_first_half_is_column_second_half_is_row():
    grid, dim = 7, 768
    table = sincos_2d_table(dim, grid)[0].numpy()
    omega = 1.0 / 10000 ** (np.arange(192) / 192)
    row, col = 2, 5
    token = table[row * grid + col]
    np.testing.assert_allclose(token[:192], np.sin(col * omega), atol=1e-6)
    np.testing.assert_allclose(token[192:384], np.cos(col * omega), atol=1e-6)
    np.testing.assert_allclose(token[384:576], np.sin(row * omega), atol=1e-6)
    np.testing.assert_allclose(token[576:], np.cos(row * omega), atol=1e-6)
