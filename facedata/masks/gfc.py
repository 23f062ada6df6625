"""Generative Face Completion masks: one square of half the face size at a random position.

Reference: Li, Liu, Yang & Yang, "Generative Face Completion", CVPR 2017 (training masks: a
64 x 64 square in a 128 x 128 face).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import MaskContext


@dataclass(frozen=True)
class GFCMaskConfig:
    """A single square hole.

    Attributes
    ----------
    fraction : float
        Square side as a fraction of the shorter image side (in (0, 1]).
    """

    fraction: float = 0.5


def gfc_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    context: MaskContext = MaskContext(),
    config: GFCMaskConfig = GFCMaskConfig(),
) -> tuple[np.ndarray, dict]:
    """Draw one square hole fully inside the image, at a uniformly random position.

    Parameters
    ----------
    height, width : int
        Mask size.
    rng : numpy.random.Generator
    context : MaskContext
        Unused.
    config : GFCMaskConfig

    Returns
    -------
    mask : (height, width) uint8 ndarray
        1 = hole.
    info : dict
        ``box``: ``[x0, y0, x1, y1]`` (exclusive ends).

    Examples
    --------
    >>> m, info = gfc_mask(128, 128, np.random.default_rng(0))
    >>> int(m.sum()) == 64 * 64
    True
    """
    side = max(1, round(config.fraction * min(height, width)))
    y0 = int(rng.integers(0, height - side + 1))
    x0 = int(rng.integers(0, width - side + 1))
    mask = np.zeros((height, width), np.uint8)
    mask[y0 : y0 + side, x0 : x0 + side] = 1
    return mask, {"box": [x0, y0, x0 + side, y0 + side]}
