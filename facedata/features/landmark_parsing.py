"""A label map drawn from 68 landmarks: the offline fallback when no parsing network is cached.

Skin is the convex hull of the jaw line and a forehead estimate (the brows raised along the
face's vertical axis); brows are bands below their landmarks (300-W marks a brow's upper
edge); eyes, inner mouth and lips are their landmark polygons; the nose is the hull of its
points, widened at the bridge and the nostrils. Parts are written in the official label order
(skin first), a later part overwriting an earlier one, as CelebAMask-HQ merges its parts.

There is no hair, hat, ear, neck or cloth: landmarks say nothing about them. Anything that
needs hair (``hair.png``, the hair term of SC-FEGAN masks) finds an empty hair region.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..labels import LABEL

#: Classes this parser can produce.
LANDMARK_CLASSES: tuple[str, ...] = (
    "background", "skin", "nose", "l_eye", "r_eye", "l_brow", "r_brow", "mouth", "u_lip",
    "l_lip",
)  # fmt: skip

_SUBPIXEL = 4  # fillPoly fractional bits: vertices to 1/16 px


def _fill(labels: np.ndarray, polygon: np.ndarray, label: int) -> None:
    pts = np.round(np.asarray(polygon) * (1 << _SUBPIXEL)).astype(np.int32)
    # Sub-pixel vertices: fillPoly reads them as fixed point with _SUBPIXEL fractional bits.
    cv2.fillPoly(labels, [pts], label, cv2.LINE_8, _SUBPIXEL)


def _hull(points: np.ndarray) -> np.ndarray:
    return cv2.convexHull(np.asarray(points, np.float32))[:, 0, :]


def landmark_parsing(
    landmarks: np.ndarray,
    shape: tuple[int, int],
    *,
    forehead: float = 0.5,
    brow_width: float = 0.12,
) -> np.ndarray:
    """Draw a CelebAMask-HQ label map from dlib's 68 landmarks.

    Parameters
    ----------
    landmarks : (68, 2) float ndarray
        ``(x, y)`` in the label map's frame.
    shape : (H, W)
        Label map size.
    forehead : float
        How far above the brows the skin reaches, as a fraction of the distance from the
        top of the nose bridge (point 27) to the chin (point 8); about 0.5 on adult faces.
    brow_width : float
        Brow thickness as a fraction of the distance between the eye centres.

    Returns
    -------
    (H, W) uint8 ndarray
        Official ids, from :data:`LANDMARK_CLASSES` only.

    Examples
    --------
    >>> from skimage.data import astronaut  # doctest: +SKIP
    >>> labels = landmark_parsing(face.landmarks, astronaut().shape[:2])  # doctest: +SKIP
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {lm.shape}")
    eye_l, eye_r = lm[36:42].mean(0), lm[42:48].mean(0)
    interocular = float(np.hypot(*(eye_r - eye_l)))
    if interocular < 1e-6:
        raise ValueError("degenerate landmarks: both eye centres coincide")
    across = (eye_r - eye_l) / interocular  # image-left to image-right along the eyes
    up = np.array([across[1], -across[0]])  # perpendicular, towards the top of the head
    face_height = float(np.hypot(*(lm[8] - lm[27])))

    brow_top = lm[17:27] + up * forehead * face_height
    brow_band = up * brow_width * interocular
    nostril = 0.15 * float(np.hypot(*(lm[35] - lm[31])))
    bridge = 0.1 * interocular
    nose = np.vstack(
        [lm[27] - across * bridge, lm[27] + across * bridge, lm[28:31],
         lm[31] - across * nostril, lm[32:35], lm[35] + across * nostril]
    )  # fmt: skip
    parts = {
        "skin": _hull(np.vstack([lm[0:17], brow_top])),
        "nose": _hull(nose),
        "l_eye": lm[36:42],
        "r_eye": lm[42:48],
        "l_brow": np.vstack([lm[17:22], (lm[17:22] - brow_band)[::-1]]),
        "r_brow": np.vstack([lm[22:27], (lm[22:27] - brow_band)[::-1]]),
        "mouth": lm[60:68],
        "u_lip": np.vstack([lm[48:55], lm[[64, 63, 62, 61, 60]]]),
        "l_lip": np.vstack([lm[[54, 55, 56, 57, 58, 59, 48]], lm[[60, 67, 66, 65, 64]]]),
    }
    labels = np.zeros(tuple(shape), np.uint8)
    for name in sorted(parts, key=LABEL.__getitem__):  # official overwrite order
        _fill(labels, parts[name], LABEL[name])
    return labels
