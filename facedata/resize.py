"""Resizing images and label maps to the square output size, shared by builders and readers.

Kept apart from the pipeline so that the readers (:mod:`facedata.data`) resize exactly as the
build does without importing it.
"""

from __future__ import annotations

import cv2
import numpy as np


def center_square(shape: tuple[int, int]) -> tuple[int, int, int]:
    """``(x0, y0, side)`` of the largest centred square of an ``(H, W)`` frame.

    >>> center_square((4, 6))
    (1, 0, 4)
    """
    h, w = shape
    side = min(h, w)
    return (w - side) // 2, (h - side) // 2, side


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an image to ``size`` x ``size``: area interpolation down, cubic up.

    Parameters
    ----------
    image : (H, W) or (H, W, C) uint8 ndarray
    size : int

    Returns
    -------
    (size, size[, C]) ndarray
        ``image`` itself when it already has that size.

    >>> resize_image(np.zeros((8, 8, 3), np.uint8), 4).shape
    (4, 4, 3)
    """
    if image.shape[:2] == (size, size):
        return image
    shrink = image.shape[0] > size
    return cv2.resize(
        image, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    )


def resize_labels(labels: np.ndarray, size: int) -> np.ndarray:
    """Resize a label map with nearest neighbour, so no new label ids appear.

    >>> resize_labels(np.eye(2, dtype=np.uint8), 4).tolist()[0]
    [1, 1, 0, 0]
    """
    if labels.shape[:2] == (size, size):
        return labels
    return cv2.resize(labels, (size, size), interpolation=cv2.INTER_NEAREST)
