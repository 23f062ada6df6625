"""Real photographs as colour-map cases, and the per-segment error measure.

Shared by ``tests/test_color.py`` and ``benchmarks/fidelity.py``: a photograph is aligned the
way a build aligns it (dlib's 68 landmarks, FFHQ crop) and parsed from its landmarks
(:func:`facedata.features.landmark_parsing.landmark_parsing`), so its segments are the eyes,
brows, lips, nose and skin a build gives a real photo without a parsing network.
"""

from __future__ import annotations

import numpy as np

from facedata.align.detect import LandmarkDetector
from facedata.align.ffhq import align_ffhq, transform_points
from facedata.features.landmark_parsing import landmark_parsing

#: Segments at least this fraction of the image are held to the colour promise.
LARGE = 0.005


def photo_case(
    image: np.ndarray, detector: LandmarkDetector, size: int = 512
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(aligned image, label map)`` of the largest face of an RGB photo, or ``None``."""
    faces = detector(image)
    if not faces:
        return None
    aligned, matrix = align_ffhq(image, faces[0].landmarks, size=size)
    landmarks = transform_points(faces[0].landmarks, matrix)
    return aligned, landmark_parsing(landmarks, (size, size))


def segment_errors(a: np.ndarray, b: np.ndarray, labels: np.ndarray):
    """Per present label of two colour maps: (largest channel difference, fraction of pixels).

    Each map is constant per label, so one pixel of each label says its colour.
    """
    present = np.unique(labels)
    first = np.array([np.argmax(labels.ravel() == k) for k in present])
    pa = a.reshape(-1, a.shape[-1])[first].astype(int)
    pb = b.reshape(-1, b.shape[-1])[first].astype(int)
    return np.abs(pa - pb).max(-1), np.bincount(labels.ravel())[present] / labels.size
