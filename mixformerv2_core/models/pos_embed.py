"""Fixed 2-D sin-cos position tables (MAE layout, no class token)."""
from __future__ import annotations

import numpy as np
import torch


def sincos_2d_table(embed_dim: int, grid_size: int) -> torch.Tensor:
    """Return a ``(1, grid_size**2, embed_dim)`` float32 table.

    Token ``m = row * grid_size + col``; the first half of the channels encodes the column (x), the second
    half the row (y); each half is ``[sin(p * w_k), cos(p * w_k)]`` with ``w_k = 10000 ** (-k / (D / 4))``.
    This is the layout of the released checkpoints' ``pos_embed_t`` / ``pos_embed_s``.
    """
    if embed_dim % 4:
        raise ValueError(f"embed_dim must be divisible by 4 for a 2-D sin-cos table, got {embed_dim}")
    quarter = embed_dim // 4
    omega = 1.0 / 10000 ** (np.arange(quarter, dtype=np.float64) / quarter)
    rows, cols = np.meshgrid(np.arange(grid_size, dtype=np.float64), np.arange(grid_size, dtype=np.float64), indexing="ij")
    x_angles = cols.reshape(-1, 1) * omega
    y_angles = rows.reshape(-1, 1) * omega
    table = np.concatenate([np.sin(x_angles), np.cos(x_angles), np.sin(y_angles), np.cos(y_angles)], axis=1)
    return torch.from_numpy(table.astype(np.float32)).unsqueeze(0)
