"""Shard fields → tensors in the conventions of inpainting networks.

| field          | name      | tensor                                   | resized with             |
|----------------|-----------|------------------------------------------|--------------------------|
| ``jpg``        | image     | (3, H, W) float32 in [-1, 1]             | area down / cubic up     |
| ``color.png``  | color     | (3, H, W) float32 in [-1, 1]             | area down / cubic up     |
| ``mask.png``   | mask      | (1, H, W) float32, 1 = hole              | area, then >= 0.5        |
| ``face.png``   | face      | (1, H, W) float32, 1 = face              | area, then >= 0.5        |
| ``hair.png``   | hair      | (1, H, W) float32, 1 = hair              | area, then >= 0.5        |
| ``sketch.png`` | sketch    | (1, H, W) float32, 1 = line              | area, then > 0           |
| ``parsing.png``| parsing   | (H, W) int64, official ids 0-18          | nearest                  |
| ``hog.npy``    | hog       | (bins, H/c, W/c) float32                 | not resized (per cell)   |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..errors import ConfigError
from ..pipeline.maps import resize_image, resize_labels


def rgb_array(rgb: np.ndarray, size: int | None = None) -> np.ndarray:
    """``(H, W, 3)`` uint8 → ``(3, S, S)`` float32 in [-1, 1] (``x / 127.5 - 1``)."""
    if size is not None:
        rgb = resize_image(rgb, size)
    return (rgb.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)


def binary_array(gray: np.ndarray, size: int | None = None, *, thin: bool = False) -> np.ndarray:
    """``(H, W)`` uint8 0/255 → ``(1, S, S)`` float32 {0, 1}.

    Parameters
    ----------
    thin : bool
        The map holds 1-pixel lines: when shrinking, a pixel is on when any line pixel falls
        in it (otherwise lines break up); else when at least half of it is on.
    """
    on = gray > 127
    if size is not None and gray.shape[:2] != (size, size):
        area = resize_image(on.astype(np.uint8) * np.uint8(255), size)
        on = area > 0 if thin else area >= 128
    return on[None].astype(np.float32)


def label_array(labels: np.ndarray, size: int | None = None) -> np.ndarray:
    """``(H, W)`` uint8 label ids → ``(S, S)`` int64, resized with nearest neighbour."""
    if size is not None:
        labels = resize_labels(labels, size)
    return labels.astype(np.int64)


def hog_array(hog: np.ndarray, size: int | None = None) -> np.ndarray:
    """``(H/c, W/c, bins)`` float16 → ``(bins, H/c, W/c)`` float32 (the cell grid is kept)."""
    del size  # histograms belong to cells of the stored image; resizing would invent cells
    return np.ascontiguousarray(hog.astype(np.float32).transpose(2, 0, 1))


@dataclass(frozen=True)
class FieldKind:
    """How one shard field becomes an array: its output name and converter."""

    name: str
    convert: Callable[..., np.ndarray]


FIELDS: dict[str, FieldKind] = {
    "jpg": FieldKind("image", rgb_array),
    "color.png": FieldKind("color", rgb_array),
    "mask.png": FieldKind("mask", binary_array),
    "face.png": FieldKind("face", binary_array),
    "hair.png": FieldKind("hair", binary_array),
    "sketch.png": FieldKind("sketch", partial(binary_array, thin=True)),
    "parsing.png": FieldKind("parsing", label_array),
    "hog.npy": FieldKind("hog", hog_array),
}


def field_kind(field: str) -> FieldKind:
    """The :class:`FieldKind` of a shard field; a clear error for fields without one."""
    try:
        return FIELDS[field]
    except KeyError:
        raise ConfigError(
            f"no tensor conversion for field {field!r}; choose from {', '.join(FIELDS)} "
            "(read other fields with facedata.shards.reader.iter_shard)"
        ) from None


def to_arrays(fields: dict[str, np.ndarray], size: int | None = None) -> dict[str, np.ndarray]:
    """Convert decoded shard fields (``{"jpg": rgb, "mask.png": gray, ...}``) by the table."""
    arrays = {}
    for field, value in fields.items():
        kind = field_kind(field)
        arrays[kind.name] = kind.convert(value, size)
    return arrays
