"""LaMa's irregular-mask presets: thin, medium and thick, defined at 256 and 512.

Reference: Suvorov et al., "Resolution-robust Large Mask Inpainting with Fourier
Convolutions" (LaMa), WACV 2022, and its evaluation-mask configurations
(``configs/data_gen/random_*_{256,512}.yaml``, drawn by ``saicinpainting/training/data/masks.py``).
A mask is either strokes or (with weight ``box_weight`` against 1 for strokes) random boxes.
The generator is reproduced draw for draw in distribution, including the extra stroke its
``cur_max_times`` formula allows; ``benchmarks/fidelity.py`` compares the coverage with
samples of LaMa's own code.

For other sizes the preset of the nearer reference size (256 below 362 px, 512 from there) is
used with every pixel quantity (the 5 px and 10 px floors of width and length included)
scaled by ``min(height, width) / reference``; counts and angles do not scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .base import MaskContext
from .box import draw_boxes

Pair = tuple[int, int]


@dataclass(frozen=True)
class LamaMaskConfig:
    """One LaMa preset; each pair holds the value at 256 and at 512 pixels.

    Attributes
    ----------
    min_strokes, max_strokes : (int, int)
        The configs' ``min_times`` and ``max_times``. LaMa draws the stroke count uniform in
        ``[min, max + 1]``: its ``cur_max_times = int(min + 1 + (max - min) * coef)`` (coef 1
        outside training ramps) is then passed to ``randint(min, cur_max_times + 1)``.
    min_width, max_width : (int, int)
        Stroke width is ``min_width + rand(max_width)`` pixels.
    min_length, max_length : (int, int)
        Segment length is ``min_length + rand(max_length)`` pixels.
    max_angle : int
        Segment direction is ``0.01 + randint(max_angle)`` radians (an integer draw, as in
        LaMa), mirrored to ``2 pi - angle`` on even strokes.
    max_segments : int
        Segments per stroke: ``1 + randint(max_segments)``.
    box_weight : float
        Mixture weight of the box generator against weight 1 for strokes (LaMa's
        ``box_proba``; the mask is boxes with probability ``w / (1 + w)``). 0 disables boxes.
    min_box, max_box : (int, int)
        Box side in pixels, uniform.
    min_boxes, max_boxes : (int, int)
        Boxes per mask.
    box_margin : (int, int)
        Pixels kept free at the border.
    sizes : (int, int)
        The reference sizes of the pairs.
    eval_max_coverage : float
        LaMa's evaluation sets (``bin/gen_mask_dataset.py``, ``max_tamper_area``) drop masks
        covering more than this; ``facedata masks`` applies it by default, builds do not (LaMa
        trains on the raw generator).
    """

    min_strokes: Pair = (4, 4)
    max_strokes: Pair = (5, 10)
    min_width: Pair = (5, 5)
    max_width: Pair = (50, 100)
    min_length: Pair = (10, 10)
    max_length: Pair = (100, 200)
    max_angle: int = 4
    max_segments: int = 5
    box_weight: float = 0.3
    min_box: Pair = (10, 30)
    max_box: Pair = (50, 150)
    min_boxes: Pair = (1, 1)
    max_boxes: Pair = (5, 5)
    box_margin: Pair = (0, 0)
    sizes: Pair = (256, 512)
    eval_max_coverage: float = 0.5


#: The presets of the reference table. Box counts and margins are not in the paper; they
#: follow a public copy of LaMa's evaluation configs.
PRESETS: dict[str, LamaMaskConfig] = {
    "thin": LamaMaskConfig(
        min_strokes=(4, 4),
        max_strokes=(50, 70),
        max_width=(10, 20),
        max_length=(40, 100),
        box_weight=0.0,
    ),
    "medium": LamaMaskConfig(),
    "thick": LamaMaskConfig(
        min_strokes=(1, 1),
        max_strokes=(5, 5),
        max_width=(100, 250),
        max_length=(200, 450),
        min_box=(30, 30),
        max_box=(150, 300),
        max_boxes=(3, 4),
        box_margin=(10, 10),
    ),
}


def lama_strokes(
    mask: np.ndarray,
    rng: np.random.Generator,
    *,
    count: int,
    width_range: tuple[int, int],
    length_range: tuple[int, int],
    max_angle: int,
    max_segments: int,
) -> None:
    """Draw LaMa's irregular strokes into ``mask`` (value 1) in place.

    Each stroke starts at a uniform pixel and draws ``1 + randint(max_segments)`` connected
    segments of length ``a + randint(b)`` with ``(a, b) = length_range``, width
    ``c + randint(d)`` with ``(c, d) = width_range``, and direction ``0.01 + randint(max_angle)``
    radians (``2 pi -`` that on even strokes). As in LaMa, each end is truncated to integer
    pixels (towards zero) and then clipped to ``[0, width] x [0, height]``.
    """
    height, width = mask.shape
    segments = 1 + rng.integers(max_segments, size=count)
    n = int(segments.sum())
    starts = np.stack([rng.integers(width, size=count), rng.integers(height, size=count)], 1)
    angles = 0.01 + rng.integers(max_angle, size=n)
    lengths = length_range[0] + rng.integers(length_range[1], size=n)
    brushes = (width_range[0] + rng.integers(width_range[1], size=n)).tolist()
    stroke = np.repeat(np.arange(count), segments)
    angles = np.where(stroke % 2 == 0, 2 * math.pi - angles, angles)
    # LaMa moves by (length sin a, length cos a): x follows the sine.
    dx, dy = (lengths * np.sin(angles)).tolist(), (lengths * np.cos(angles)).tolist()
    j = 0
    for i in range(count):
        x, y = int(starts[i, 0]), int(starts[i, 1])
        for _ in range(int(segments[i])):
            # Each end is truncated and clipped before the next segment starts from it, so
            # this is sequential; int() truncates towards zero like LaMa's astype(int32).
            nx, ny = min(max(int(x + dx[j]), 0), width), min(max(int(y + dy[j]), 0), height)
            # Thick OpenCV lines have round caps, as in LaMa (which also draws with cv2.line).
            cv2.line(mask, (x, y), (nx, ny), 1, brushes[j])
            x, y, j = nx, ny, j + 1


def lama_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    context: MaskContext = MaskContext(),
    config: LamaMaskConfig = PRESETS["medium"],
) -> tuple[np.ndarray, dict]:
    """Draw one LaMa mask of a preset.

    Parameters
    ----------
    height, width : int
        Mask size.
    rng : numpy.random.Generator
    context : MaskContext
        Unused.
    config : LamaMaskConfig
        One of :data:`PRESETS` or a custom one.

    Returns
    -------
    mask : (height, width) uint8 ndarray
        1 = hole.
    info : dict
        ``reference`` (256 or 512), ``scale``, and either ``strokes`` (count) or ``boxes``
        (list of ``[x0, y0, x1, y1]``).

    Examples
    --------
    >>> m, info = lama_mask(256, 256, np.random.default_rng(0), config=PRESETS["thin"])
    >>> info["reference"], info["scale"], "strokes" in info
    (256, 1.0, True)
    """
    side = min(height, width)
    i = 0 if side < math.sqrt(config.sizes[0] * config.sizes[1]) else 1
    scale = side / config.sizes[i]

    def px(pair: Pair) -> int:
        return max(1, round(pair[i] * scale))

    mask = np.zeros((height, width), np.uint8)
    info: dict = {"reference": config.sizes[i], "scale": round(scale, 6)}
    use_boxes = config.box_weight > 0 and rng.random() < config.box_weight / (1 + config.box_weight)
    if use_boxes:
        info["boxes"] = draw_boxes(
            mask,
            rng,
            count=int(rng.integers(config.min_boxes[i], config.max_boxes[i] + 1)),
            min_size=px(config.min_box),
            max_size=px(config.max_box),
            margin=round(config.box_margin[i] * scale),
        )
    else:
        # LaMa's randint(min, cur_max_times + 1) with cur_max_times = max + 1.
        count = int(rng.integers(config.min_strokes[i], config.max_strokes[i] + 2))
        lama_strokes(
            mask,
            rng,
            count=count,
            width_range=(px(config.min_width), px(config.max_width)),
            length_range=(px(config.min_length), px(config.max_length)),
            max_angle=config.max_angle,
            max_segments=config.max_segments,
        )
        info["strokes"] = count
    return mask, info
