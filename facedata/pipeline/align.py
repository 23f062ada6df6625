"""The ``align`` stage: landmarks for every face found, FFHQ alignment for unaligned sources.

It runs before ``resize``, on the image at its native resolution. A source says whether its
images are aligned already with the reference metadata flag ``aligned`` (CelebA-HQ and
CelebAMask-HQ: yes; a folder of photos: no; no flag: no); the stage consumes the flag and
writes ``align`` into the metadata instead.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..align import LandmarkDetector, align_ffhq, ffhq_quad, transform_points, warp_labels
from ..errors import ConfigError, FacedataError
from ..sample import Sample
from .stages import Stage, guarded

ALIGN_METHODS = ("auto", "ffhq", "none")


@dataclass(frozen=True)
class AlignConfig:
    """Face detection, landmarks and alignment.

    Attributes
    ----------
    method : str
        ``ffhq`` (align every image; a sample without a face fails), ``none`` (keep the image
        as it is), or ``auto``: ``none`` for samples whose source marks them aligned, else
        ``ffhq``.
    all_faces : bool
        With ``ffhq``, every face becomes its own sample, keyed ``<key>-f0``, ``<key>-f1``, ...
        (largest first); otherwise only the largest face is kept.
    landmarks : bool
        Also find landmarks on images that are not aligned here (``none``); a sample without
        a face then simply has none.
    detect_size : int
        Longest image side the face detector sees (see :class:`LandmarkDetector`).
    aligned_detect_size : int
        The same for images whose source marks them aligned: their face fills the frame, so
        a small copy finds it. Default 256: four to six times faster than 640 at 1024²,
        landmarks within about 2 px (at 1024²) of those found through a 640 px copy.
    min_score : float
        Lowest detector score accepted as a face.
    predictor : str or None
        A ``shape_predictor_68_face_landmarks.dat`` file; default: face-recognition-models'.
    """

    method: str = "auto"
    all_faces: bool = False
    landmarks: bool = True
    detect_size: int = 640
    aligned_detect_size: int = 256
    min_score: float = 0.3
    predictor: str | None = None

    def __post_init__(self):
        if self.method not in ALIGN_METHODS:
            raise ConfigError(
                f"--align must be one of {', '.join(ALIGN_METHODS)}, not {self.method!r}"
            )
        if self.all_faces and self.method == "none":
            raise ConfigError("--all-faces crops each face: it needs --align ffhq or auto")
        for flag, size in (
            ("--detect-size", self.detect_size),
            ("--aligned-detect-size", self.aligned_detect_size),
        ):
            if size < 64:
                raise ConfigError(f"{flag} must be at least 64 pixels, not {size}")


class AlignStage(Stage):
    """Detect faces and landmarks; align with FFHQ's crop where asked."""

    name = "align"
    Config = AlignConfig

    def setup(self) -> None:
        self._detector: LandmarkDetector | None = None

    def detector(self) -> LandmarkDetector:
        """The dlib models, loaded on first use (an all-aligned build without landmarks
        never needs them)."""
        if self._detector is None:
            self._detector = LandmarkDetector(
                self.config.predictor,
                detect_size=self.config.detect_size,
                min_score=self.config.min_score,
            )
        return self._detector

    def run(self, samples: list[Sample]) -> None:
        # A sample may become several (one per face): the batch is edited in place.
        result: list[Sample] = []
        for sample in samples:
            made: list[Sample] = []
            if sample.ok:
                guarded(self.name, sample, self._process, made)
            result.extend(made if sample.ok and made else [sample])
        samples[:] = result

    def _method(self, source_aligned: bool) -> str:
        if self.config.method != "auto":
            return self.config.method
        return "none" if source_aligned else "ffhq"

    def _process(self, sample: Sample, made: list[Sample]) -> None:
        source_aligned = bool(sample.meta.pop("aligned", False))
        method = self._method(source_aligned)
        if method == "none":
            info: dict = {"method": "none"}
            if sample.landmarks is None and self.config.landmarks:
                size = self.config.aligned_detect_size if source_aligned else None
                faces = self.detector()(sample.image, detect_size=size)
                info["faces"] = len(faces)
                if faces:
                    sample.landmarks = faces[0].landmarks
                    info["score"] = round(faces[0].score, 3)
            sample.meta["align"] = info
            return
        if sample.landmarks is not None:  # the source knows its one face
            found = [(sample.landmarks, None)]
        else:
            faces = self.detector()(sample.image, thorough=self.config.all_faces)
            found = [(f.landmarks, f.score) for f in faces]
        if not found:
            h, w = sample.image.shape[:2]
            raise FacedataError(
                f"no face found by dlib's frontal face detector in this {w}x{h} image, so it "
                "cannot be aligned; pass --align none to keep such images unaligned"
            )
        chosen = found if self.config.all_faces else found[:1]
        for index, (landmarks, score) in enumerate(chosen):
            key = f"{sample.key}-f{index}" if self.config.all_faces else sample.key
            made.append(self._aligned(sample, key, landmarks, score, index, len(found)))

    def _aligned(
        self,
        sample: Sample,
        key: str,
        landmarks: np.ndarray,
        score: float | None,
        index: int,
        count: int,
    ) -> Sample:
        size = self.context.size
        image, matrix = align_ffhq(sample.image, landmarks, size=size)
        parsing = None
        if sample.parsing is not None:
            parsing = warp_labels(
                sample.parsing, matrix, size=size, image_shape=sample.image.shape[:2]
            )
        h, w = sample.image.shape[:2]
        meta = copy.deepcopy(sample.meta)
        meta["key"] = key
        meta.setdefault("original_size", [int(w), int(h)])
        meta["align"] = {
            "method": "ffhq",
            "faces": count,
            "face": index,
            "quad": np.round(ffhq_quad(landmarks)[0], 2).tolist(),
        } | ({"score": round(score, 3)} if score is not None else {})
        return Sample(
            key=key,
            image=image,
            parsing=parsing,
            landmarks=transform_points(landmarks, matrix),
            meta=meta,
            fields=dict(sample.fields),
        )
