"""What a preview draws: how many rows, how large, and for mask previews the face's side.

``facedata preview`` generates its options from these dataclasses (``cli/options.py``), so
each default and help text lives here only.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..checks import at_least
from ..options import option

#: The smallest tile side that leaves room for a field name.
MIN_TILE = 16


@dataclass(frozen=True)
class PreviewConfig:
    """A contact sheet of a build: rows of tiles.

    Attributes
    ----------
    count : int
        Number of samples (rows), or of masks.
    tile_size : int
        Tile side in pixels.
    split : str or None
        Only this split (unset: every split, in manifest order).

    Examples
    --------
    >>> PreviewConfig(count=3).tile_size
    160
    """

    count: int = option(8, aliases=("--n",))
    tile_size: int = option(160, flag="--tile")
    split: str | None = None

    def __post_init__(self) -> None:
        at_least("--count", self.count, 1)
        at_least("--tile", self.tile_size, MIN_TILE)


@dataclass(frozen=True)
class MaskPreviewConfig(PreviewConfig):
    """Masks over the demo face: a :class:`PreviewConfig` plus what a demo build would draw.

    Attributes
    ----------
    size : int
        masks: side the masks (and the demo face) are drawn at.
    seed : int
        masks: global seed (as in ``facedata build``).
    histogram_count : int
        masks: masks drawn for the coverage histogram (when one is asked for).

    Examples
    --------
    >>> MaskPreviewConfig(size=64).count
    8
    """

    size: int = 512
    seed: int = 0
    histogram_count: int = 1000

    def __post_init__(self) -> None:
        super().__post_init__()
        at_least("--size", self.size, 1)
        at_least("--histogram-count", self.histogram_count, 1)
