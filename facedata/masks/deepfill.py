"""DeepFillv2 free-form masks: brush strokes with round joints, OR a box, randomly flipped.

Reference: Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019
(algorithm 1, free-form mask generation), and its released training code for the box. The
released code flips the stroke mask with ``mask.transpose(...)`` without keeping the result,
so its flips never happen; here they do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .base import MaskContext, draw_stroke


@dataclass(frozen=True)
class DeepFillMaskConfig:
    """DeepFillv2 parameters; widths are pixels at ``width_reference`` and scale with size.

    Attributes
    ----------
    min_strokes, max_strokes : int
        Strokes per mask, uniform in ``[min_strokes, max_strokes]``.
    min_vertices, max_vertices : int
        Vertices per stroke.
    mean_angle, angle_range : float
        Radians; each stroke draws bounds ``mean_angle - U(0, angle_range)`` and
        ``mean_angle + U(0, angle_range)``, then segment directions ``a`` uniform between them,
        used as ``2 pi - a`` on even segments and ``a`` on odd ones.
    min_width, max_width : float
        Brush width, uniform, in pixels at ``width_reference``.
    width_reference : int or None
        Side the widths are given for (the paper trains at 256); ``None`` keeps them in pixels
        at every size. Segment lengths always scale: ``r = sqrt(H^2 + W^2) / 8``.
    box : bool
        Add DeepFillv2's box: half the image in each direction at a random position, each
        side shrunk by up to ``box_shrink`` of the image side.
    box_shrink : float
        Largest inward shift of each side of the box, as a fraction of the image side.
    flip : bool
        Flip the strokes left-right and up-down, each with probability 1/2.
    """

    min_strokes: int = 1
    max_strokes: int = 3
    min_vertices: int = 4
    max_vertices: int = 12
    mean_angle: float = 2 * math.pi / 5
    angle_range: float = 2 * math.pi / 15
    min_width: float = 12.0
    max_width: float = 40.0
    width_reference: int | None = 256
    box: bool = True
    box_shrink: float = 1 / 16
    flip: bool = True


def deepfill_box(height: int, width: int, rng: np.random.Generator, shrink: float) -> list[int]:
    """DeepFillv2's box ``[x0, y0, x1, y1]`` (exclusive ends).

    Half the image side in each direction at a uniformly random position fully inside the
    image, each of its four sides moved inwards by ``U{0 .. shrink * side}`` pixels.
    """
    bh, bw = height // 2, width // 2
    top = int(rng.integers(0, height - bh + 1))
    left = int(rng.integers(0, width - bw + 1))
    dy = rng.integers(0, int(shrink * height) + 1, 2)
    dx = rng.integers(0, int(shrink * width) + 1, 2)
    return [left + int(dx[0]), top + int(dy[0]), left + bw - int(dx[1]), top + bh - int(dy[1])]


def deepfill_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    context: MaskContext = MaskContext(),
    config: DeepFillMaskConfig = DeepFillMaskConfig(),
) -> tuple[np.ndarray, dict]:
    """Draw one DeepFillv2 mask: brush strokes OR its box.

    Parameters
    ----------
    height, width : int
        Mask size.
    rng : numpy.random.Generator
        Source of randomness.
    context : MaskContext
        Unused: DeepFillv2 masks do not depend on the face.
    config : DeepFillMaskConfig

    Returns
    -------
    mask : (height, width) uint8 ndarray
        1 = hole.
    info : dict
        ``strokes``, ``flip`` (``[left_right, up_down]``), ``box`` (``[x0, y0, x1, y1]``
        or ``None``).

    Examples
    --------
    >>> m, info = deepfill_mask(64, 96, np.random.default_rng(0))
    >>> m.shape, m.dtype, int(m.max())
    ((64, 96), dtype('uint8'), 1)
    """
    mask = np.zeros((height, width), np.uint8)
    radius = math.hypot(height, width) / 8
    scale = 1.0 if config.width_reference is None else min(height, width) / config.width_reference
    n_strokes = int(rng.integers(config.min_strokes, config.max_strokes + 1))
    for _ in range(n_strokes):
        n_vertices = int(rng.integers(config.min_vertices, config.max_vertices + 1))
        angle_min = config.mean_angle - rng.uniform(0, config.angle_range)
        angle_max = config.mean_angle + rng.uniform(0, config.angle_range)
        # Directions alternate between -U and +U: the brush zig-zags.
        angles = rng.uniform(angle_min, angle_max, n_vertices)
        angles[0::2] = 2 * math.pi - angles[0::2]
        lengths = np.clip(rng.normal(radius, radius / 2, n_vertices), 0, 2 * radius)
        dx, dy = (lengths * np.cos(angles)).tolist(), (lengths * np.sin(angles)).tolist()
        x, y = float(rng.integers(0, width)), float(rng.integers(0, height))
        points = [(x, y)]
        for i in range(n_vertices):
            # Each vertex moves from the previous one, clipped to the image (as the paper);
            # the clipping makes this sequential, so plain floats beat array operations.
            x, y = min(max(x + dx[i], 0.0), width - 1.0), min(max(y + dy[i], 0.0), height - 1.0)
            points.append((x, y))
        brush = rng.uniform(config.min_width, config.max_width) * scale
        draw_stroke(mask, np.array(points), round(brush))
    flip = [bool(rng.random() < 0.5), bool(rng.random() < 0.5)] if config.flip else [False, False]
    if flip[0]:
        mask = mask[:, ::-1]
    if flip[1]:
        mask = mask[::-1, :]
    mask = np.ascontiguousarray(mask)
    box = None
    if config.box:
        box = deepfill_box(height, width, rng, config.box_shrink)
        mask[box[1] : box[3], box[0] : box[2]] = 1
    return mask, {"strokes": n_strokes, "flip": flip, "box": box}
