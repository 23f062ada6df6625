"""A sample's masks: family plus coverage bounds, seeded by (seed, key, index), and storage.

The k-th mask of a sample depends only on (global seed, sample key, k, spec): its generator is
:func:`facedata.seeding.sample_rng` ``(seed, key, "mask", k)``, and every rejected try draws
from that same generator, so any sample's masks can be regenerated alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..options import option
from ..seeding import sample_rng
from .base import MaskContext
from .bounds import CoverageRange, draw_within
from .registry import FAMILIES, make_mask


@dataclass(frozen=True)
class MaskSpec:
    """Which masks to draw.

    Attributes
    ----------
    kind : str
        Family: scfegan, deepfill, lama-thin, lama-medium, lama-thick, box, gfc, part (the
        keys of :data:`facedata.masks.GENERATORS`), or mixed for the mixture.
    min_coverage, max_coverage : float
        Accepted hole fraction, from ``min`` to ``max`` inclusive; masks outside are redrawn.
    max_tries : int
        Masks drawn at most per accepted one; when none falls in range, the closest is kept
        and flagged ``in_range: False``.
    family : dataclass or None
        The family's own parameters (its ``…MaskConfig``: stroke counts, widths, box sizes);
        ``None`` resolves to the family's defaults, so a build's manifest records what drew
        its masks.
    """

    kind: str = "scfegan"
    min_coverage: float = option(0.0, flag="--min-coverage")
    max_coverage: float = option(1.0, flag="--max-coverage")
    max_tries: int = 100
    # Which parameters exist depends on the kind, so they are set in Python, not as flags.
    family: Any = option(None, cli=False)

    def __post_init__(self) -> None:
        if self.kind not in FAMILIES:
            raise ConfigError(
                f"unknown mask kind {self.kind!r}; choose one of {', '.join(FAMILIES)}"
            )
        if self.max_tries < 1:
            raise ConfigError(f"max_tries must be at least 1, got {self.max_tries}")
        CoverageRange(self.min_coverage, self.max_coverage)  # raises for bad bounds
        default = FAMILIES[self.kind][1]
        if self.family is None:
            object.__setattr__(self, "family", default)
        elif type(self.family) is not type(default):
            raise ConfigError(
                f"mask kind {self.kind!r} takes a {type(default).__name__} as its family "
                f"config, not {type(self.family).__name__}"
            )

    @property
    def target(self) -> CoverageRange:
        """The accepted coverage as a range."""
        return CoverageRange(self.min_coverage, self.max_coverage)

    def draw(
        self,
        rng: np.random.Generator,
        height: int,
        width: int,
        context: MaskContext = MaskContext(),
        *,
        target: CoverageRange | None = None,
    ) -> tuple[np.ndarray, dict]:
        """Draw one mask from ``rng``, redrawing until its coverage is in range.

        Parameters
        ----------
        rng : numpy.random.Generator
        height, width : int
        context : MaskContext
        target : CoverageRange, optional
            Replaces ``[min_coverage, max_coverage]`` (e.g. an evaluation bucket).

        Returns
        -------
        mask : (height, width) uint8 ndarray
            1 = hole.
        info : dict
            ``family``, the family's info, ``coverage``, ``tries``, ``in_range``.
        """
        return draw_within(
            lambda: make_mask(self.kind, height, width, rng, context, self.family),
            self.target if target is None else target,
            max_tries=self.max_tries,
        )

    def sample(
        self,
        seed: int,
        key: str,
        index: int,
        height: int,
        width: int,
        context: MaskContext = MaskContext(),
        *,
        target: CoverageRange | None = None,
    ) -> tuple[np.ndarray, dict]:
        """The ``index``-th mask of sample ``key`` under global ``seed`` (see :meth:`draw`).

        Examples
        --------
        >>> spec = MaskSpec("box")
        >>> a, _ = spec.sample(0, "demo-000001", 2, 32, 32)
        >>> b, _ = spec.sample(0, "demo-000001", 2, 32, 32)
        >>> bool((a == b).all())
        True
        """
        rng = sample_rng(seed, key, "mask", index)
        return self.draw(rng, height, width, context, target=target)


def pack_masks(masks: np.ndarray) -> np.ndarray:
    """Bit-pack masks along the width: how ``masks.npy`` stores a sample's K masks.

    Parameters
    ----------
    masks : (K, H, W) uint8 ndarray
        0/1 masks (any non-zero counts as a hole).

    Returns
    -------
    (K, H, ceil(W / 8)) uint8 ndarray
        ``numpy.packbits(masks != 0, axis=-1)`` (big-endian bit order: the first pixel of a
        row is the most significant bit of its first byte); 8x smaller than stacking.

    Examples
    --------
    >>> pack_masks(np.array([[[1, 0, 0, 0, 0, 0, 0, 1, 1]]], np.uint8))
    array([[[129, 128]]], dtype=uint8)
    """
    return np.packbits(np.asarray(masks) != 0, axis=-1)


def unpack_masks(packed: np.ndarray, width: int) -> np.ndarray:
    """Inverse of :func:`pack_masks`: ``(K, H, ceil(W/8))`` → ``(K, H, W)`` uint8 0/1.

    ``width`` is the image width (the packed rows are padded to a multiple of 8).
    """
    return np.unpackbits(np.asarray(packed, np.uint8), axis=-1, count=width)
