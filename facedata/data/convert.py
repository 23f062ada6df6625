"""Shard fields → arrays in the conventions of inpainting networks, chosen by the field's kind.

Every field's :class:`~facedata.shards.fields.FieldSpec` names its kind and its tensor key
(``jpg`` → ``image``, ``mask.png`` → ``mask``, ...); the kind fixes the conversion:

| kind     | array                                | resized to ``size`` with          |
|----------|--------------------------------------|-----------------------------------|
| image    | (3, H, W) float32 in [-1, 1]         | area down / cubic up              |
| binary   | (1, H, W) float32 {0, 1}, 1 = on     | area, then >= 0.5                 |
| lines    | (1, H, W) float32 {0, 1}, 1 = line   | area, then > 0 (lines stay whole) |
| gray     | (1, H, W) float32 in [0, 1]          | area down / cubic up              |
| labels   | (H, W) int64 label ids               | nearest                           |
| cells    | (bins, H/c, W/c) float32             | never (one value per cell)        |

Fields whose shape does not follow ``--size`` (component patches) are never resized.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ConfigError
from ..resize import resize_image, resize_labels
from ..shards.fields import FieldSpec


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


def lines_array(gray: np.ndarray, size: int | None = None) -> np.ndarray:
    """:func:`binary_array` of a map of 1-pixel lines (``thin=True``)."""
    return binary_array(gray, size, thin=True)


def gray_array(gray: np.ndarray, size: int | None = None) -> np.ndarray:
    """``(H, W)`` uint8 → ``(1, S, S)`` float32 in [0, 1] (``x / 255``)."""
    if size is not None:
        gray = resize_image(gray, size)
    return (gray.astype(np.float32) / 255.0)[None]


def label_array(labels: np.ndarray, size: int | None = None) -> np.ndarray:
    """``(H, W)`` uint8 label ids → ``(S, S)`` int64, resized with nearest neighbour."""
    if size is not None:
        labels = resize_labels(labels, size)
    return labels.astype(np.int64)


def hog_array(hog: np.ndarray, size: int | None = None) -> np.ndarray:
    """``(H/c, W/c, bins)`` float16 → ``(bins, H/c, W/c)`` float32 (the cell grid is kept)."""
    del size  # histograms belong to cells of the stored image; resizing would invent cells
    return np.ascontiguousarray(hog.astype(np.float32).transpose(2, 0, 1))


#: Field kind → its conversion (``packed`` fields have none).
CONVERSIONS: dict[str, Callable[[np.ndarray, int | None], np.ndarray]] = {
    "image": rgb_array,
    "binary": binary_array,
    "lines": lines_array,
    "gray": gray_array,
    "labels": label_array,
    "cells": hog_array,
}


def tensor_spec(field: str, specs: dict[str, FieldSpec]) -> FieldSpec:
    """The spec of a field that converts to a tensor; a clear error for one that does not.

    Raises
    ------
    ConfigError
    """
    spec = specs.get(field)
    if spec is None or spec.tensor is None or spec.kind not in CONVERSIONS:
        convertible = ", ".join(n for n, s in specs.items() if s.tensor and s.kind in CONVERSIONS)
        raise ConfigError(
            f"no tensor conversion for field {field!r}; choose from {convertible} "
            "(read other fields with facedata.shards.reader.iter_shard)"
        )
    return spec


def to_arrays(
    fields: dict[str, np.ndarray], size: int | None, specs: dict[str, FieldSpec]
) -> dict[str, np.ndarray]:
    """Convert decoded shard fields (``{"jpg": rgb, "mask.png": gray, ...}``) by their specs.

    Returns
    -------
    dict
        Tensor key (``spec.tensor``) → array; fields whose shape does not follow the build's
        size keep theirs.
    """
    arrays = {}
    for field, value in fields.items():
        spec = tensor_spec(field, specs)
        arrays[spec.tensor] = CONVERSIONS[spec.kind](value, size if spec.side == 1 else None)
    return arrays
