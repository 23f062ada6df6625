"""A weighted mixture of the other families: each mask comes from one family picked at random."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .base import MaskContext

#: Families that need a face (label map or landmarks); without one they leave the mixture.
NEEDS_FACE = frozenset({"part"})


@dataclass(frozen=True)
class MixedMaskConfig:
    """Mixture weights, each family drawn with its own defaults.

    Attributes
    ----------
    weights : tuple of (str, float)
        ``(family, weight)`` pairs; a family is picked with probability proportional to its
        weight among those usable for the sample (``part`` needs a label map or landmarks).
        Equal weights by default.
    """

    weights: tuple[tuple[str, float], ...] = (
        ("scfegan", 1.0),
        ("deepfill", 1.0),
        ("lama-thin", 1.0),
        ("lama-medium", 1.0),
        ("lama-thick", 1.0),
        ("box", 1.0),
        ("gfc", 1.0),
        ("part", 1.0),
    )

    def __post_init__(self) -> None:
        if any(kind == "mixed" for kind, _ in self.weights):
            raise ConfigError("a mixture cannot contain 'mixed' itself")
        if any(w < 0 for _, w in self.weights) or not any(w > 0 for _, w in self.weights):
            raise ConfigError("mixture weights must be >= 0 with at least one > 0")


def mixed_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    context: MaskContext = MaskContext(),
    config: MixedMaskConfig = MixedMaskConfig(),
) -> tuple[np.ndarray, dict]:
    """Draw one mask from a family picked by weight.

    Parameters
    ----------
    height, width : int
        Mask size.
    rng : numpy.random.Generator
    context : MaskContext
        Passed to the chosen family.
    config : MixedMaskConfig

    Returns
    -------
    mask : (height, width) uint8 ndarray
        1 = hole.
    info : dict
        That family's info, with ``family`` naming it.
    """
    from .registry import make_mask  # the registry imports this module

    usable = [
        (kind, w)
        for kind, w in config.weights
        if w > 0 and (context.has_face or kind not in NEEDS_FACE)
    ]
    if not usable:
        raise ConfigError(
            "no family of the mixture can draw without a face; add one that needs no label map"
        )
    p = np.array([w for _, w in usable], float)
    kind = usable[int(rng.choice(len(usable), p=p / p.sum()))][0]
    return make_mask(kind, height, width, rng, context)
