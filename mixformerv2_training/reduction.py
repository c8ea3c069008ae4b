"""Model reduction of the deep-to-shallow route: progressive depth pruning and MLP slicing (paper §3.3).

Works on the core's :class:`~mixformerv2_core.MixFormerV2`; eliminated blocks are scaled by ``block_gammas``
during training and physically removed afterwards.
"""
from __future__ import annotations

import math
from typing import Sequence


from mixformerv2_core import MixFormerV2


def pruning_gamma(epoch: int, decay_epochs: int = 40) -> float:
    """Residual scale of an eliminated block in (1-based) ``epoch``: ``0.5 (1 + cos(pi t / m))``.

    As in the reference code, ``t = min(epoch + 1, m)``, so gamma is exactly 0 from epoch ``m - 1`` on.
    """
    if decay_epochs < 1:
        raise ValueError(f"decay_epochs must be >= 1, got {decay_epochs}")
    t = min(int(epoch) + 1, decay_epochs)
    return 0.0 if t >= decay_epochs else 0.5 * (1.0 + math.cos(math.pi * t / decay_epochs))


def block_gammas(depth: int, remove_layers: Sequence[int], gamma: float) -> list[float]:
    """Per-block scales: ``gamma`` for eliminated blocks, 1 for kept ones."""
    removed = set(check_layers(depth, remove_layers))
    return [float(gamma) if index in removed else 1.0 for index in range(depth)]


def check_layers(depth: int, layers: Sequence[int]) -> list[int]:
    layers = sorted({int(i) for i in layers})
    bad = [i for i in layers if not 0 <= i < depth]
    if bad:
        raise ValueError(f"layers {bad} do not exist in a {depth}-block model")
    if len(layers) >= depth:
        raise ValueError("cannot eliminate every block")
    return layers


def kept_index_map(depth: int, remove_layers: Sequence[int]) -> dict[int, int]:
    """Old block index -> new index after removal (kept blocks renumbered in order)."""
    removed = set(check_layers(depth, remove_layers))
    kept = [i for i in range(depth) if i not in removed]
    return {old: new for new, old in enumerate(kept)}


def remove_blocks(model: MixFormerV2, remove_layers: Sequence[int]) -> MixFormerV2:
    """A new, shallower network without ``remove_layers`` (exact when their gamma is 0)."""
    mapping = kept_index_map(model.config.depth, remove_layers)
    pruned = MixFormerV2(model.config.replace(depth=len(mapping)))
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith("backbone.blocks."):
            old = int(key.split(".")[2])
            if old not in mapping:
                continue
            key = f"backbone.blocks.{mapping[old]}." + key.split(".", 3)[3]
        state[key] = value
    pruned.load_state_dict(state, strict=True)
    return pruned


def slice_mlps(model: MixFormerV2, mlp_ratio: float) -> MixFormerV2:
    """MLP reduction: every block's MLP keeps the leading slices ``w[:d1', :d2']`` of its weights."""
    target = model.config.replace(mlp_ratio=mlp_ratio)
    hidden = target.mlp_hidden_dim
    if hidden > model.config.mlp_hidden_dim:
        raise ValueError(f"MLP slicing only shrinks: {model.config.mlp_hidden_dim} -> {hidden} requested")
    sliced = MixFormerV2(target)
    state = {}
    for key, value in model.state_dict().items():
        if ".mlp.fc1." in key:
            value = value[:hidden]
        elif key.endswith(".mlp.fc2.weight"):
            value = value[:, :hidden]
        state[key] = value.clone()
    sliced.load_state_dict(state, strict=True)
    return sliced

