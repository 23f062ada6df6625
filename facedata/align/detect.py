"""Faces and their 68 landmarks with dlib.

The frontal face detector (HOG features and a linear SVM) is built into dlib. The 68-point
shape predictor (an ensemble of regression trees trained on iBUG 300-W) is the file
``shape_predictor_68_face_landmarks.dat`` of the ``face-recognition-models`` package. That
package's ``__init__`` imports ``pkg_resources``, which new setuptools no longer ships, so the
file is located from the package's import spec without importing it.

Points follow the 300-W scheme: jaw 0-16, brows 17-21 and 22-26, nose 27-35, eyes 36-41 and
42-47, mouth 48-67 (outer lips 48-59, inner 60-67). 36-41 is the eye on the image's left.

References
----------
Kazemi & Sullivan, "One Millisecond Face Alignment with an Ensemble of Regression Trees",
CVPR 2014. Sagonas et al., "300 Faces in-the-Wild Challenge", ICCV Workshops 2013.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import MissingDependencyError, MissingWeightsError

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
MODELS_PACKAGE = "face_recognition_models"


def predictor_path() -> Path:
    """The 68-point predictor file inside the installed ``face-recognition-models`` package.

    Raises
    ------
    MissingDependencyError
        When the package is not installed.
    MissingWeightsError
        When it is installed but holds no predictor file.
    """
    spec = importlib.util.find_spec(MODELS_PACKAGE)  # finds the package, runs none of its code
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "the 68-point landmark model ships in 'face-recognition-models', which is not "
            "installed; install it with: pip install face-recognition-models"
        )
    candidates = [Path(p) / "models" / PREDICTOR_FILE for p in spec.submodule_search_locations]
    for path in candidates:
        if path.is_file():
            return path
    raise MissingWeightsError(
        f"{candidates[0]} does not exist; reinstall face-recognition-models, or pass the "
        f"path of a {PREDICTOR_FILE} file"
    )


@dataclass(frozen=True)
class Face:
    """One detected face.

    Attributes
    ----------
    box : (4,) float ndarray
        ``x0, y0, x1, y1`` of the detector's box, in image pixels.
    score : float
        Detector score (higher is surer; dlib's threshold is 0).
    landmarks : (68, 2) float32 ndarray
        ``(x, y)`` pixel centres in the image frame.
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))


@functools.lru_cache(maxsize=2)
def _dlib_models(path: str):
    # The predictor takes about half a second to read: share it within a process. dlib's
    # models are not safe to call from two threads at once (threaded Dask workers abort),
    # hence the lock that goes with them.
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(path), threading.Lock()


class LandmarkDetector:
    """Find faces and their 68 landmarks, largest face first.

    Detection runs on a copy shrunk so that its longer side is at most ``detect_size`` (the
    HOG detector's cost grows with the pixel count, and faces in portraits are large); the
    landmarks are then placed on the full-resolution image. When nothing is found, the
    detector retries on the image upsampled up to ``max_upsample`` times, which finds faces
    down to about 40 pixels wide. Detections scoring below ``min_score`` are dropped: dlib's
    own threshold (0) lets through hands, ears and patterns at scores around 0.1, while
    frontal faces in photographs score about 1.

    Parameters
    ----------
    predictor : path, optional
        A ``shape_predictor_68_face_landmarks.dat`` file; default: the one of
        ``face-recognition-models``.
    detect_size : int
        Longest side the detector sees, in pixels.
    max_upsample : int
        Upsampling steps tried, one after the other, while no face is found.
    min_score : float
        Lowest detector score accepted as a face.
    """

    def __init__(
        self,
        predictor: str | os.PathLike | None = None,
        *,
        detect_size: int = 640,
        max_upsample: int = 1,
        min_score: float = 0.3,
    ):
        if detect_size < 64:
            raise ValueError(f"detect_size must be at least 64 pixels, got {detect_size}")
        self.path = Path(predictor).expanduser() if predictor else predictor_path()
        if not self.path.is_file():
            raise MissingWeightsError(f"landmark predictor {self.path} does not exist")
        self.detect_size = detect_size
        self.max_upsample = max_upsample
        self.min_score = min_score
        self._detector, self._predictor, self._lock = _dlib_models(str(self.path))

    def __call__(
        self, image: np.ndarray, *, thorough: bool = False, detect_size: int | None = None
    ) -> list[Face]:
        """Detect faces in an ``(H, W, 3)`` RGB uint8 image; returns them largest first.

        ``thorough`` detects at the largest upsampling at once, to find every face rather than
        stopping at the first step that finds one (four times slower per step).
        ``detect_size`` replaces the detector's for this image (e.g. a smaller one for an
        aligned face that fills the frame).
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.dtype} "
                             f"{image.shape}")  # fmt: skip
        detect_size = detect_size or self.detect_size
        if detect_size < 64:
            raise ValueError(f"detect_size must be at least 64 pixels, got {detect_size}")
        image = np.ascontiguousarray(image)
        h, w = image.shape[:2]
        small = image
        if max(h, w) > detect_size:
            scale = detect_size / max(h, w)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        sx, sy = w / small.shape[1], h / small.shape[0]
        with self._lock:
            faces = self._detect(image, small, (sx, sy), thorough)
        faces.sort(key=lambda f: (-f.area, -f.score))
        return faces

    def _detect(
        self,
        image: np.ndarray,
        small: np.ndarray,
        scale: tuple[float, float],
        thorough: bool,
    ) -> list[Face]:
        """Boxes on ``small`` (``scale`` times smaller), landmarks on ``image``; the caller
        holds the models' lock."""
        import dlib

        sx, sy = scale
        found: list = []
        steps = [self.max_upsample] if thorough else range(self.max_upsample + 1)
        for upsample in steps:
            rects, scores, _ = self._detector.run(small, upsample, 0.0)
            found = [(r, s) for r, s in zip(rects, scores) if s >= self.min_score]
            if found:
                break
        faces = []
        for rect, score in found:
            # dlib boxes are inclusive; scale their pixel edges back to the full image.
            box = np.array(
                [rect.left() * sx, rect.top() * sy, (rect.right() + 1) * sx,
                 (rect.bottom() + 1) * sy]
            )  # fmt: skip
            full = dlib.rectangle(
                *(int(round(v)) for v in (box[0], box[1], box[2] - 1, box[3] - 1))
            )
            shape = self._predictor(image, full)
            points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
            faces.append(Face(box=box, score=float(score), landmarks=points))
        return faces


def eye_centres(landmarks: np.ndarray) -> np.ndarray:
    """Centres of the two eyes, image-left eye (points 36-41) first.

    Parameters
    ----------
    landmarks : (68, 2) float ndarray

    Returns
    -------
    (2, 2) float64 ndarray
        ``[[x, y] of points 36-41, [x, y] of points 42-47]``.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {lm.shape}")
    return np.stack([lm[36:42].mean(0), lm[42:48].mean(0)])


def landmark_meta(landmarks: np.ndarray) -> dict:
    """The sample metadata of a face: its 68 landmarks and eye centres, to 0.01 px."""
    return {
        "landmarks": np.round(np.asarray(landmarks, np.float64), 2).tolist(),
        "eyes": np.round(eye_centres(landmarks), 2).tolist(),
    }
