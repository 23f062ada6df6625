"""SC-FEGAN free-form masks: zig-zag strokes, a line from an eye after each, and hair.

Reference: Jo & Park, "SC-FEGAN: Face Editing Generative Adversarial Network with User's
Sketch and Color", ICCV 2019, free-form masking with eye positions. The paper gives the
algorithm but not its numbers; the defaults follow a public re-implementation at 512².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import MaskContext, draw_stroke


@dataclass(frozen=True)
class SCFEGANMaskConfig:
    """Parameters at 512²; lengths and width scale with ``min(height, width) / 512``.

    Attributes
    ----------
    max_draw : int
        Strokes are ``1 + rand(max_draw)``.
    min_line, max_line : int
        Vertices per stroke.
    max_angle : float
        Degrees of deviation from the stroke's start angle.
    min_length, max_length : float
        Segment length in pixels.
    width : int
        Stroke width in pixels.
    hair_probability : float
        Chance that the hair region is added to the mask.
    within_face : bool
        Start strokes inside the face box: the bounding box of skin to lips in the label map,
        else of the landmarks, else the whole image.
    """

    max_draw: int = 3
    min_line: int = 80
    max_line: int = 100
    max_angle: float = 15.0
    min_length: float = 80.0
    max_length: float = 100.0
    width: int = 15
    hair_probability: float = 1 / 3
    within_face: bool = True


def scfegan_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    context: MaskContext = MaskContext(),
    config: SCFEGANMaskConfig = SCFEGANMaskConfig(),
) -> tuple[np.ndarray, dict]:
    """Draw one SC-FEGAN free-form mask.

    Parameters
    ----------
    height, width : int
        Mask size.
    rng : numpy.random.Generator
        Source of randomness (see :func:`facedata.seeding.sample_rng`).
    context : MaskContext
        Eye positions come from its landmarks, known eyes or label map; hair from its label
        map.
    config : SCFEGANMaskConfig

    Returns
    -------
    mask : (height, width) uint8 ndarray
        1 = hole.
    info : dict
        ``strokes``, ``eyes`` (how many eye positions were known), ``eyes_from``
        (``"landmarks"``, ``"annotations"`` (the context's ``known_eyes``), ``"parsing"`` or
        ``None``), ``hair`` (added or not, ``None`` when no
        hair region is known).

    Examples
    --------
    >>> m, info = scfegan_mask(64, 64, np.random.default_rng(0))
    >>> m.shape, m.dtype, set(np.unique(m)) <= {0, 1}
    ((64, 64), dtype('uint8'), True)
    """
    scale = min(height, width) / 512.0
    thickness = max(1, round(config.width * scale))
    mask = np.zeros((height, width), np.uint8)
    eyes = context.eyes
    x0, y0, x1, y1 = (config.within_face and context.face_box) or (0, 0, width, height)
    n_strokes = 1 + int(rng.integers(config.max_draw))
    for _ in range(n_strokes):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        start = rng.uniform(0, 360)
        n_vertices = int(rng.integers(config.min_line, config.max_line + 1))
        angles = start + rng.uniform(-config.max_angle, config.max_angle, n_vertices)
        angles[1::2] += 180.0  # back and forth: the zig-zag of the paper
        lengths = rng.uniform(config.min_length, config.max_length, n_vertices) * scale
        rad = np.deg2rad(angles)
        steps = np.stack([lengths * np.cos(rad), lengths * np.sin(rad)], 1)
        points = np.vstack([[x, y], [x, y] + np.cumsum(steps, 0)])
        points = np.clip(points, 0, [width - 1, height - 1])
        draw_stroke(mask, points, thickness)
        if eyes:
            eye = eyes[int(rng.integers(len(eyes)))]
            draw_stroke(mask, np.array([points[-1], eye]), thickness)
    hair = context.hair
    hair_added = None
    if hair is not None:
        hair_added = bool(rng.random() < config.hair_probability) and bool(hair.any())
        if hair_added:
            mask[hair] = 1
    eyes_from = None
    if eyes:
        eyes_from = (
            "landmarks" if context.landmarks is not None
            else "annotations" if context.known_eyes is not None
            else "parsing"
        )  # fmt: skip
    info = {"strokes": n_strokes, "eyes": len(eyes), "eyes_from": eyes_from, "hair": hair_added}
    return mask, info
