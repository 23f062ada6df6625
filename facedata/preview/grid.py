"""Contact sheets: one row per sample, one column per field."""

from __future__ import annotations

import os
from itertools import islice

import cv2
import numpy as np

from ..checks import at_least
from ..errors import MissingDataError
from ..io.atomic import atomic_path
from ..labels import colorize
from ..shards.fields import FULL_SIZE_FIELDS
from ..shards.reader import iter_samples

#: Column order; fields a build does not have are skipped.
COLUMNS = FULL_SIZE_FIELDS


#: The smallest tile side that leaves room for a field name.
MIN_TILE = 16


def check_grid_options(*, n: int, tile_size: int) -> None:
    """Every preview's ``--n`` and ``--tile``, checked before anything is read."""
    at_least("--n", n, 1)
    at_least("--tile", tile_size, MIN_TILE)


def tile(field: str, value: np.ndarray, sample: dict, size: int) -> np.ndarray:
    """Render one field as an RGB tile of ``size`` x ``size``."""
    if field.startswith("parsing"):
        rgb = colorize(value)
    elif field == "mask.png" and "jpg" in sample:
        # The hole shown in white over the dimmed image: what the network sees.
        rgb = sample["jpg"].copy()
        rgb[value > 0] = 255
    elif value.ndim == 2:
        rgb = np.repeat(value[..., None], 3, axis=2)
    else:
        rgb = value
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)


def label(img: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner of a tile, readable on any background."""
    out = img.copy()
    for colour, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, thick, cv2.LINE_AA)
    return out


def shard_grid(
    out: str | os.PathLike, *, n: int = 8, tile_size: int = 160, split: str | None = None
) -> np.ndarray:
    """A grid of the first ``n`` samples of a build.

    Returns
    -------
    (rows * tile_size, cols * tile_size, 3) uint8 ndarray
        RGB image; the first row of tiles carries the field names.
    """
    check_grid_options(n=n, tile_size=tile_size)
    samples = list(islice(iter_samples(out, split), n))
    if not samples:
        raise MissingDataError(f"{out} holds no samples")
    columns = [c for c in COLUMNS if any(c in s for s in samples)]
    rows = []
    for r, sample in enumerate(samples):
        tiles = []
        for c in columns:
            t = (
                tile(c, sample[c], sample, tile_size)
                if c in sample
                else np.zeros((tile_size, tile_size, 3), np.uint8)
            )
            if r == 0:
                t = label(t, c)
            tiles.append(t)
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def save_rgb(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an RGB image (PNG/JPEG by extension) atomically."""
    with atomic_path(path, keep_suffix=True) as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(image[..., ::-1])):
            raise OSError(f"could not write {path}")
