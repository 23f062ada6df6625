"""The straightforward label interpolation that :mod:`facedata.features.edits` speeds up.

Kept as the reference the fast route is checked and timed against (tests/test_edits.py,
benchmarks/edits.py): 19 full-image signed distance fields, SciPy's exact Euclidean feature
transform for the nearest fill, full-image translations, and one ``np.argmax``.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from facedata.features.edits import SLIDING
from facedata.labels import CLASSES, LABEL


def dense_interpolation(a: np.ndarray, b: np.ndarray, factor: float) -> np.ndarray:
    """The straightforward route: 19 full-image fields, exact nearest fill, one argmax."""

    def sdf(mask):
        if mask.all() or not mask.any():
            return np.full(mask.shape, float(sum(mask.shape)) * (1 if mask.any() else -1))
        m = mask.astype(np.uint8)
        return cv2.distanceTransform(m, cv2.DIST_L2, 5) - cv2.distanceTransform(1 - m, 2, 5)

    def under_parts(labels):
        holes, sources = np.isin(labels, list(SLIDING)), labels <= LABEL["skin"]
        out = labels.copy()
        if not sources.any():
            out[holes] = 0
            return out
        _, (iy, ix) = ndimage.distance_transform_edt(~sources, return_indices=True)
        out[holes] = labels[iy[holes], ix[holes]]
        return out

    def shift(field, d):
        m = np.array([[1.0, 0, d[0]], [0, 1, d[1]]])
        return cv2.warpAffine(field, m, field.shape[::-1], borderMode=cv2.BORDER_REPLICATE)

    def centroid(mask):
        ys, xs = np.nonzero(mask)
        return np.array([xs.mean(), ys.mean()])

    base_a, base_b = under_parts(a), under_parts(b)
    fields = np.full((len(CLASSES), *a.shape), -np.inf, np.float32)
    for c in range(len(CLASSES)):
        ma, mb = (a == c, b == c) if c in SLIDING else (base_a == c, base_b == c)
        if ma.any() and mb.any():
            fa, fb = sdf(ma), sdf(mb)
            if c in SLIDING:
                ca, cb = centroid(ma), centroid(mb)
                target = (1 - factor) * ca + factor * cb
                fa, fb = shift(fa, target - ca), shift(fb, target - cb)
            fields[c] = (1 - factor) * fa + factor * fb
        elif ma.any():
            fields[c] = (1 - factor) * sdf(ma) - factor * sdf(ma).max()
        elif mb.any():
            fields[c] = factor * sdf(mb) - (1 - factor) * sdf(mb).max()
    out = np.argmax(fields, axis=0).astype(np.uint8)
    for c in range(1, len(CLASSES)):
        out[fields[c] > 0] = c
    return out
