"""Free-form mask generators, one module per family, behind one registry.

``make_mask(kind, height, width, rng, context)`` draws one mask of the named family.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .base import MaskContext, MaskGenerator, coverage
from .scfegan import SCFEGANMaskConfig, scfegan_mask

GENERATORS: dict[str, MaskGenerator] = {
    "scfegan": scfegan_mask,
}


def make_mask(
    kind: str,
    height: int,
    width: int,
    rng: np.random.Generator,
    context: MaskContext = MaskContext(),
) -> tuple[np.ndarray, dict]:
    """Draw one mask of family ``kind`` (1 = hole) with that family's defaults."""
    try:
        generator = GENERATORS[kind]
    except KeyError:
        raise ConfigError(
            f"unknown mask kind {kind!r}; choose one of {', '.join(sorted(GENERATORS))}"
        ) from None
    return generator(height, width, rng, context)


__all__ = [
    "GENERATORS",
    "MaskContext",
    "SCFEGANMaskConfig",
    "coverage",
    "make_mask",
    "scfegan_mask",
]
