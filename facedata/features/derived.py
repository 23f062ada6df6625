"""The maps that are functions of other stored maps: what readers run for a left-out field.

Each takes the decoded source fields and the build's side (``size``) and returns the field as
the build stores it; the build itself computes the stored field with the same function, so a
stored and a derived field are the same array (see :mod:`facedata.shards.derive`).
"""

from __future__ import annotations

import numpy as np

from ..labels import face_mask, hair_mask
from . import hog


def face_png(parsing: np.ndarray, *, size: int) -> np.ndarray:
    """``face.png`` of ``parsing.png``: 255 on :data:`~facedata.labels.FACE_CLASSES`.

    Examples
    --------
    >>> face_png(np.array([[0, 1, 13]], np.uint8), size=3).tolist()
    [[0, 255, 0]]
    """
    del size  # the label map has it
    return face_mask(parsing)


def hair_png(parsing: np.ndarray, *, size: int) -> np.ndarray:
    """``hair.png`` of ``parsing.png``: 255 on hair.

    Examples
    --------
    >>> hair_png(np.array([[0, 1, 13]], np.uint8), size=3).tolist()
    [[0, 0, 255]]
    """
    del size
    return hair_mask(parsing)


def hog_png(histograms: np.ndarray, *, size: int, cell: int) -> np.ndarray:
    """``hog.png`` of ``hog.npy``: the glyph image of the stored (float16) histograms.

    Parameters
    ----------
    histograms : (size // cell, size // cell, orientations) float16 ndarray
    size : int
        Side of the image (pixels past the last whole cell stay 0).
    cell : int
        Cell side the histograms were computed with.

    Returns
    -------
    (size, size) uint8 ndarray
        :func:`~facedata.features.hog.glyph_image` of
        :func:`~facedata.features.hog.render_glyphs`, 255 at its maximum.

    Examples
    --------
    >>> hog_png(np.ones((1, 1, 2), np.float16), size=4, cell=4).tolist()
    [[0, 0, 0, 0], [0, 128, 0, 128], [0, 0, 255, 0], [0, 128, 0, 128]]
    """
    glyphs = hog.render_glyphs(
        histograms.astype(np.float64), pixels_per_cell=(cell, cell), shape=(size, size)
    )
    return hog.glyph_image(glyphs)
