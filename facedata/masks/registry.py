"""The registry of mask families: name → drawing function and default config."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from ..errors import ConfigError
from .base import MaskContext, MaskGenerator
from .box import BoxMaskConfig, box_mask
from .deepfill import DeepFillMaskConfig, deepfill_mask
from .gfc import GFCMaskConfig, gfc_mask
from .lama import PRESETS as LAMA_PRESETS
from .lama import lama_mask
from .mixed import MixedMaskConfig, mixed_mask
from .part import PartMaskConfig, part_mask
from .scfegan import SCFEGANMaskConfig, scfegan_mask

#: Family name → (drawing function, its default config).
FAMILIES: dict[str, tuple[Any, Any]] = {
    "scfegan": (scfegan_mask, SCFEGANMaskConfig()),
    "deepfill": (deepfill_mask, DeepFillMaskConfig()),
    "lama-thin": (lama_mask, LAMA_PRESETS["thin"]),
    "lama-medium": (lama_mask, LAMA_PRESETS["medium"]),
    "lama-thick": (lama_mask, LAMA_PRESETS["thick"]),
    "box": (box_mask, BoxMaskConfig()),
    "gfc": (gfc_mask, GFCMaskConfig()),
    "part": (part_mask, PartMaskConfig()),
    "mixed": (mixed_mask, MixedMaskConfig()),
}

#: Family name → ``(height, width, rng, context) -> (mask, info)`` with the family's defaults.
GENERATORS: dict[str, MaskGenerator] = {
    kind: partial(fn, config=config) for kind, (fn, config) in FAMILIES.items()
}


def make_mask(
    kind: str,
    height: int,
    width: int,
    rng: np.random.Generator,
    context: MaskContext = MaskContext(),
    config: Any = None,
) -> tuple[np.ndarray, dict]:
    """Draw one mask of family ``kind`` (1 = hole).

    Parameters
    ----------
    kind : str
        A key of :data:`GENERATORS`.
    height, width : int
        Mask size.
    rng : numpy.random.Generator
    context : MaskContext
        Label map and landmarks of the face, when known.
    config : dataclass, optional
        The family's config; its defaults when ``None``.

    Returns
    -------
    mask : (height, width) uint8 ndarray
    info : dict
        The family's info, with ``family`` set (for ``mixed``: the family picked).

    Raises
    ------
    ConfigError
        For an unknown kind.
    """
    try:
        fn, default = FAMILIES[kind]
    except KeyError:
        raise ConfigError(
            f"unknown mask kind {kind!r}; choose one of {', '.join(FAMILIES)}"
        ) from None
    mask, info = fn(height, width, rng, context, default if config is None else config)
    return mask, {"family": kind, **info}
