"""Random rectangles: the ``box`` family, and the box part of LaMa's presets.

Reference: Suvorov et al., "Resolution-robust Large Mask Inpainting with Fourier
Convolutions" (LaMa), WACV 2022, random rectangle masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import MaskContext


@dataclass(frozen=True)
class BoxMaskConfig:
    """Random boxes, sized as fractions of the shorter image side.

    Attributes
    ----------
    min_boxes, max_boxes : int
        Number of boxes, uniform in ``[min_boxes, max_boxes]``.
    min_size, max_size : float
        Box height and width, each uniform in ``[min_size, max_size]`` times the shorter side.
    margin : float
        Distance kept from the image border, as a fraction of the shorter side.
    """

    min_boxes: int = 1
    max_boxes: int = 3
    min_size: float = 0.1
    max_size: float = 0.4
    margin: float = 0.0


def draw_boxes(
    mask: np.ndarray,
    rng: np.random.Generator,
    *,
    count: int,
    min_size: int,
    max_size: int,
    margin: int = 0,
) -> list[list[int]]:
    """Draw ``count`` random boxes into ``mask`` (value 1) in place.

    Each box has height and width uniform in ``[min_size, max_size]`` pixels (shrunk to fit
    inside the margins) and a uniformly random position with every side at least ``margin``
    pixels from the border.

    Returns
    -------
    list of [x0, y0, x1, y1]
        The boxes, exclusive ends.
    """
    height, width = mask.shape
    sizes = rng.integers(min_size, max_size + 1, (count, 2))
    sizes = np.maximum(1, np.minimum(sizes, [height - 2 * margin, width - 2 * margin]))
    # Top-left corners uniform over the positions that keep the box inside the margins.
    room = np.maximum(0, [height - 2 * margin, width - 2 * margin] - sizes) + 1
    corners = margin + (rng.random((count, 2)) * room).astype(int)
    boxes = []
    for (y0, x0), (bh, bw) in zip(corners.tolist(), sizes.tolist()):
        mask[y0 : y0 + bh, x0 : x0 + bw] = 1
        boxes.append([x0, y0, x0 + bw, y0 + bh])
    return boxes


def box_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    context: MaskContext = MaskContext(),
    config: BoxMaskConfig = BoxMaskConfig(),
) -> tuple[np.ndarray, dict]:
    """Draw one mask of random boxes.

    Parameters
    ----------
    height, width : int
        Mask size.
    rng : numpy.random.Generator
    context : MaskContext
        Unused.
    config : BoxMaskConfig

    Returns
    -------
    mask : (height, width) uint8 ndarray
        1 = hole.
    info : dict
        ``boxes``: list of ``[x0, y0, x1, y1]``.

    Examples
    --------
    >>> m, info = box_mask(32, 32, np.random.default_rng(0))
    >>> int(m.sum()) > 0, len(info["boxes"]) >= 1
    (True, True)
    """
    side = min(height, width)
    mask = np.zeros((height, width), np.uint8)
    boxes = draw_boxes(
        mask,
        rng,
        count=int(rng.integers(config.min_boxes, config.max_boxes + 1)),
        min_size=max(1, round(config.min_size * side)),
        max_size=max(1, round(config.max_size * side)),
        margin=round(config.margin * side),
    )
    return mask, {"boxes": boxes}
