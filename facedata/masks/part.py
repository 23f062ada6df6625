"""Face-part occluders: hide one eye, both eyes, the nose, the mouth or the hair.

Reference: Li, Liu, Yang & Yang, "Generative Face Completion", CVPR 2017, whose tests occlude
single parts with a box or a blob. The part comes from the label map (official CelebAMask-HQ
classes), else from 68 dlib landmarks (no hair then).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError, MissingDataError
from ..labels import LABEL
from .base import MaskContext, bounding_box

#: Part → its candidate regions, each as (label classes, landmark hulls). A hull is a range
#: of dlib landmark indices; no hulls means the part is known from the label map only.
#: ``eye`` has two candidates and one is picked at random; the others have one.
PARTS: dict[str, tuple[tuple[tuple[str, ...], tuple[range, ...]], ...]] = {
    "eye": ((("l_eye",), (range(36, 42),)), (("r_eye",), (range(42, 48),))),
    "eyes": ((("l_eye", "r_eye"), (range(36, 42), range(42, 48))),),
    "nose": ((("nose",), (range(27, 36),)),),
    "mouth": ((("mouth", "u_lip", "l_lip"), (range(48, 60),)),),
    "hair": ((("hair",), ()),),
}
SHAPES = ("blob", "box")


@dataclass(frozen=True)
class PartMaskConfig:
    """Which parts may be hidden and how.

    Attributes
    ----------
    parts : tuple of str
        Candidates among ``eye`` (one eye), ``eyes``, ``nose``, ``mouth``, ``hair``; one of
        those present in the face is picked uniformly.
    shapes : tuple of str
        ``blob`` (the part dilated by a disc) and/or ``box`` (its bounding box grown by a
        margin), picked uniformly.
    min_grow, max_grow : float
        How far the hole reaches beyond the part (disc radius or box margin), uniform in this
        range, as a fraction of the shorter image side.
    """

    parts: tuple[str, ...] = ("eye", "eyes", "nose", "mouth", "hair")
    shapes: tuple[str, ...] = SHAPES
    min_grow: float = 0.01
    max_grow: float = 0.04

    def __post_init__(self) -> None:
        bad = [p for p in self.parts if p not in PARTS]
        bad += [s for s in self.shapes if s not in SHAPES]
        if bad or not self.parts or not self.shapes:
            raise ConfigError(
                f"part masks: unknown or empty parts/shapes {bad or ''}; parts are "
                f"{', '.join(PARTS)} and shapes {', '.join(SHAPES)}"
            )
        if not 0 <= self.min_grow <= self.max_grow:
            raise ConfigError("part masks need 0 <= min_grow <= max_grow")


def _region(
    context: MaskContext, height: int, width: int, classes: tuple[str, ...], hulls: tuple
) -> np.ndarray | None:
    """The candidate region as a boolean (H, W) array, or ``None`` when it is not visible."""
    if context.labels is not None:
        region = context.labels == LABEL[classes[0]]
        for name in classes[1:]:
            region |= context.labels == LABEL[name]
        return region if region.any() else None
    if context.landmarks is None or not hulls:
        return None
    region = np.zeros((height, width), np.uint8)
    lm = np.round(np.asarray(context.landmarks, np.float64)).astype(np.int32)
    for hull in hulls:
        cv2.fillConvexPoly(region, cv2.convexHull(lm[list(hull)]), 1)
    return region.astype(bool) if region.any() else None


def visible_parts(
    context: MaskContext, height: int, width: int, parts: tuple[str, ...] = tuple(PARTS)
) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Parts whose region is known: part → list of ``(candidate name, boolean region)``."""
    found = {}
    for part in parts:
        candidates = []
        for classes, hulls in PARTS[part]:
            region = _region(context, height, width, classes, hulls)
            if region is not None:
                candidates.append(("+".join(classes), region))
        if candidates:
            found[part] = candidates
    return found


def _dilate(region: np.ndarray, radius: int) -> np.ndarray:
    """Dilate a boolean region by a disc, working only on its bounding box plus the radius."""
    out = region.astype(np.uint8)
    box = bounding_box(out)
    if radius < 1 or box is None:
        return out
    h, w = region.shape
    x0, y0 = max(0, box[0] - radius), max(0, box[1] - radius)
    x1, y1 = min(w, box[2] + radius), min(h, box[3] + radius)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    out[y0:y1, x0:x1] = cv2.dilate(out[y0:y1, x0:x1], disc)
    return out


def part_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    context: MaskContext = MaskContext(),
    config: PartMaskConfig = PartMaskConfig(),
) -> tuple[np.ndarray, dict]:
    """Hide one face part with a blob or a box.

    Parameters
    ----------
    height, width : int
        Mask size (the label map's or the landmarks' frame).
    rng : numpy.random.Generator
    context : MaskContext
        Needs a label map (official ids) or 68 landmarks.
    config : PartMaskConfig

    Returns
    -------
    mask : (height, width) uint8 ndarray
        1 = hole; it always contains the whole chosen part.
    info : dict
        ``part`` (``eye``, ``eyes`` ...), ``region`` (the classes hidden, e.g. ``l_eye``),
        ``shape``, ``grow`` (pixels), ``box`` (``[x0, y0, x1, y1]`` of the hole).

    Raises
    ------
    MissingDataError
        When none of the configured parts is visible (or no label map or landmarks are known).
    """
    found = visible_parts(context, height, width, config.parts)
    if not found:
        raise MissingDataError(
            f"part masks need a label map or 68 landmarks showing one of "
            f"{', '.join(config.parts)}; this sample has none (use another --mask-kind)"
        )
    names = list(found)
    part = names[int(rng.integers(len(names)))]
    region_name, region = found[part][int(rng.integers(len(found[part])))]
    shape = config.shapes[int(rng.integers(len(config.shapes)))]
    grow = round(rng.uniform(config.min_grow, config.max_grow) * min(height, width))
    if shape == "blob":
        mask = _dilate(region, grow)
    else:
        x0, y0, x1, y1 = bounding_box(region)
        mask = np.zeros((height, width), np.uint8)
        mask[max(0, y0 - grow) : y1 + grow, max(0, x0 - grow) : x1 + grow] = 1
    box = list(bounding_box(mask))
    info = {"part": part, "region": region_name, "shape": shape, "grow": int(grow), "box": box}
    return mask, info
