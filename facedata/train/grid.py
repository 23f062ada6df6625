"""The sample grid of a training run: input | mask | sketch | colour | output | target."""

from __future__ import annotations

import numpy as np
import torch

from ..preview.grid import label

COLUMNS = ("input", "mask", "sketch", "colour", "output", "target")


def _rgb(x: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) in [-1, 1] (C = 1 or 3) → (B, H, W, 3) uint8."""
    x = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.expand(-1, 3, -1, -1).permute(0, 2, 3, 1).numpy()


def sample_grid(
    image: torch.Tensor,
    mask: torch.Tensor,
    sketch: torch.Tensor,
    color: torch.Tensor,
    output: torch.Tensor,
) -> np.ndarray:
    """One row per sample, the columns of :data:`COLUMNS`, names on the first row.

    Parameters
    ----------
    image, color, output : (B, 3, H, W) tensors in [-1, 1]
        Target, colour map and the composited output.
    mask, sketch : (B, 1, H, W) tensors in {0, 1}

    Returns
    -------
    (B·H, 6·W, 3) uint8 ndarray
        RGB. The input shows the hole in white; sketch and colour are shown as the network
        sees them (inside the hole only), the sketch as black lines on white.
    """
    white = torch.ones_like(image)
    columns = [
        image * (1 - mask) + white * mask,
        mask * 2 - 1,
        1 - 2 * sketch * mask,
        color * mask,
        output,
        image,
    ]
    tiles = [_rgb(c) for c in columns]
    rows = []
    for r in range(image.shape[0]):
        row = [t[r] for t in tiles]
        if r == 0:
            row = [label(t, name) for t, name in zip(row, COLUMNS)]
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)
