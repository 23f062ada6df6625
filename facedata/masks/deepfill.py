"""DeepFillv2 free-form masks: brush strokes with round joints, OR a box, randomly flipped.

Reference: Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019
(algorithm 1, free-form mask generation), and its released training code
(``inpaint_ops.py``: ``brush_stroke_mask``, ``random_bbox``, ``bbox2mask``), whose vertex
range, integer vertices, floored widths and box shrink are followed here. The released code
flips the stroke mask with ``mask.transpose(...)`` without keeping the result, so its flips
never happen; here they do (flips do not change coverage). ``benchmarks/fidelity.py``
compares the coverage with samples of the released code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .base import MaskContext


@dataclass(frozen=True)
class DeepFillMaskConfig:
    """DeepFillv2 parameters; widths are pixels at any image size unless ``width_reference``.

    Attributes
    ----------
    min_strokes, max_strokes : int
        Strokes per mask, uniform in ``[min_strokes, max_strokes]``.
    min_vertices, max_vertices : int
        Segments per stroke, uniform in ``[min, max]`` (the code's ``randint(4, 12)``: 4-11).
    mean_angle, angle_range : float
        Radians; each stroke draws bounds ``mean_angle - U(0, angle_range)`` and
        ``mean_angle + U(0, angle_range)``, then segment directions ``a`` uniform between them,
        used as ``2 pi - a`` on even segments and ``a`` on odd ones.
    min_width, max_width : float
        Brush width ``int(U(min_width, max_width))`` pixels (floored, as the code does).
    width_reference : int or None
        ``None`` (the code's behaviour): widths are pixels at every size. An int scales them
        by ``min(H, W) / width_reference`` before flooring (e.g. 256, the paper's training
        size, for brushes that keep their look at 512). Segment lengths always scale:
        ``r = sqrt(H^2 + W^2) / 8``.
    box : bool
        Add DeepFillv2's box: half the image in each direction at a random position, shrunk
        by one random delta per axis, applied to both opposite sides.
    box_shrink : float
        Largest delta, as a fraction of the image side (the code's ``max_delta // 2`` with
        ``max_delta`` 32 at 256: 1/16).
    flip : bool
        Flip the strokes left-right and up-down, each with probability 1/2.
    """

    min_strokes: int = 1
    max_strokes: int = 3
    min_vertices: int = 4
    max_vertices: int = 11
    mean_angle: float = 2 * math.pi / 5
    angle_range: float = 2 * math.pi / 15
    min_width: float = 12.0
    max_width: float = 40.0
    width_reference: int | None = None
    box: bool = True
    box_shrink: float = 1 / 16
    flip: bool = True


def deepfill_box(height: int, width: int, rng: np.random.Generator, shrink: float) -> list[int]:
    """DeepFillv2's box ``[x0, y0, x1, y1]`` (exclusive ends).

    Half the image side in each direction, its corner uniform in ``[0, side - half)`` (the
    code's exclusive ``tf.random_uniform`` bound); then one delta per axis,
    ``U{0 .. shrink * side}`` pixels, moves both opposite sides inwards.
    """
    bh, bw = height // 2, width // 2
    top = int(rng.integers(0, max(1, height - bh)))
    left = int(rng.integers(0, max(1, width - bw)))
    dy = int(rng.integers(0, int(shrink * height) + 1))
    dx = int(rng.integers(0, int(shrink * width) + 1))
    return [left + dx, top + dy, left + bw - dx, top + bh - dy]


def _draw_brush(draw: ImageDraw.ImageDraw, points: list[tuple[int, int]], width: int) -> None:
    """DeepFillv2's brush with PIL, as its code draws it: a polyline of ``width`` plus a
    filled disc on the box ``v +- width // 2`` at every vertex (the round joints).

    PIL rather than OpenCV because the two rasterise widths differently (OpenCV's thick lines
    are about a pixel wider), which moves the coverage measurably (``benchmarks/fidelity.py``).
    """
    draw.line(points, fill=1, width=width)
    half = width // 2
    for x, y in points:
        draw.ellipse((x - half, y - half, x + half, y + half), fill=1)


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
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
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
        # The code's spread is ``radius // 2``: floored.
        lengths = np.clip(rng.normal(radius, radius // 2, n_vertices), 0, 2 * radius)
        dx, dy = (lengths * np.cos(angles)).tolist(), (lengths * np.sin(angles)).tolist()
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        points = [(x, y)]
        for i in range(n_vertices):
            # Each vertex moves from the previous one, clipped to [0, W] x [0, H] and
            # truncated to integers as in the code; that makes this sequential, so plain
            # Python numbers beat array operations.
            x, y = int(min(max(x + dx[i], 0.0), width)), int(min(max(y + dy[i], 0.0), height))
            points.append((x, y))
        brush = int(rng.uniform(config.min_width, config.max_width) * scale)
        _draw_brush(draw, points, brush)
    mask = np.array(canvas)
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
