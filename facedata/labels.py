"""CelebAMask-HQ's 19 parsing classes, their palette, and the maps derived from a label map."""

from __future__ import annotations

import cv2
import numpy as np

#: Official CelebAMask-HQ label order (also ParseNet's); index = label id.
CLASSES: tuple[str, ...] = (
    "background", "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear",
    "r_ear", "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth",
)  # fmt: skip
LABEL = {name: i for i, name in enumerate(CLASSES)}

#: Official visualisation palette (RGB), one row per class.
PALETTE = np.array(
    [
        [0, 0, 0], [204, 0, 0], [76, 153, 0], [204, 204, 0], [51, 51, 255], [204, 0, 204],
        [0, 255, 255], [255, 204, 204], [102, 51, 0], [255, 0, 0], [102, 204, 0],
        [255, 255, 0], [0, 0, 153], [0, 0, 204], [255, 51, 153], [0, 204, 204], [0, 51, 0],
        [255, 153, 51], [0, 204, 0],
    ],
    dtype=np.uint8,
)  # fmt: skip

#: Classes that make up ``face.png``: the face without hair, hat, neck and clothes.
FACE_CLASSES: tuple[int, ...] = tuple(
    LABEL[n]
    for n in ("skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear",
              "nose", "mouth", "u_lip", "l_lip")
)  # fmt: skip


def class_mask(labels: np.ndarray, classes: tuple[int, ...] | int) -> np.ndarray:
    """Return a 0/255 ``uint8`` mask of the pixels whose label is in ``classes``.

    Parameters
    ----------
    labels : (H, W) uint8 ndarray
        Label map with official ids 0-18.
    classes : int or tuple of int
        Label ids to select.

    Examples
    --------
    >>> class_mask(np.array([[1, 13]], np.uint8), 13)
    array([[  0, 255]], dtype=uint8)
    """
    lut = np.zeros(256, np.uint8)
    lut[np.atleast_1d(np.asarray(classes, dtype=np.intp))] = 255
    return lut[labels]


def face_mask(labels: np.ndarray) -> np.ndarray:
    """0/255 face region (skin, brows, eyes, glasses, ears, nose, mouth, lips)."""
    return class_mask(labels, FACE_CLASSES)


def hair_mask(labels: np.ndarray) -> np.ndarray:
    """0/255 hair region."""
    return class_mask(labels, LABEL["hair"])


def labelled_eyes(labels: np.ndarray) -> np.ndarray | None:
    """Centres of the two annotated eyes, image-left first, or ``None`` unless both are there.

    Parameters
    ----------
    labels : (H, W) uint8 ndarray
        Label map with official ids 0-18.

    Returns
    -------
    (2, 2) float64 ndarray or None
        ``[[x, y], [x, y]]``: the mean pixel positions of ``l_eye`` and ``r_eye``, ordered by
        ``x`` (the order of the metadata's ``eyes``, which landmarks fill with points 36-41
        then 42-47).

    Examples
    --------
    >>> labels = np.zeros((4, 8), np.uint8)
    >>> labels[1, 6], labels[1:3, 1] = LABEL["l_eye"], LABEL["r_eye"]
    >>> labelled_eyes(labels).tolist()
    [[1.0, 1.5], [6.0, 1.0]]
    """
    found = [class_centroid(labels, LABEL[name]) for name in ("l_eye", "r_eye")]
    if None in found:
        return None
    return np.array(sorted(found), np.float64)


def colorize(labels: np.ndarray) -> np.ndarray:
    """Render a label map with the official palette as an ``(H, W, 3)`` RGB uint8 image."""
    return PALETTE[labels]


def class_centroid(labels: np.ndarray, label: int) -> tuple[float, float] | None:
    """Centre ``(x, y)`` of the pixels of one class, or ``None`` when the class is absent."""
    # Image moments give the mean position without listing the pixels (several times faster).
    m = cv2.moments((labels == label).view(np.uint8), binaryImage=True)
    if m["m00"] == 0:
        return None
    return m["m10"] / m["m00"], m["m01"] / m["m00"]
