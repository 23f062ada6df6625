"""The ``align`` stage: landmarks for every face found, FFHQ alignment for unaligned sources.

It runs before ``resize``, on the image at its native resolution. A source says whether its
images are aligned already with the reference metadata flag ``aligned`` (CelebA-HQ and
CelebAMask-HQ: yes; a folder of photos: no; no flag: no); the stage consumes the flag and
writes ``align`` into the metadata instead.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..align import LandmarkDetector, align_ffhq, ffhq_quad, transform_points, warp_labels
from ..align.ffhq import frame_error, padded_fraction
from ..errors import ConfigError, FacedataError, RejectedError
from ..labels import labelled_eyes
from ..options import option
from ..sample import Sample
from .stages import Stage, guarded, stage_class

log = logging.getLogger(__name__)

ALIGN_METHODS = ("auto", "ffhq", "none")


@dataclass(frozen=True)
class AlignConfig:
    """Face detection, landmarks and alignment.

    Attributes
    ----------
    method : str
        ``ffhq`` (align every image; a sample without a face fails), ``none`` (keep the image
        as it is), or ``auto``: ``none`` for samples whose source marks them aligned or whose
        face's FFHQ crop is their own frame (see ``aligned_tolerance``), else ``ffhq``.
    all_faces : bool
        With ``ffhq``, every face becomes its own sample, keyed ``<key>-f0``, ``<key>-f1``, ...
        (largest first); otherwise only the largest face is kept.
    landmarks : bool
        Also find landmarks on images that are not aligned here (``none``); a sample without
        a face then simply has none.
    annotated_eyes : bool
        On images their source marks aligned whose label annotations hold both eyes, take the
        eye centres from the annotated ``l_eye``/``r_eye`` parts instead of detecting
        landmarks (detection is about a fifth of an annotated build's time); metadata
        ``eyes_from`` says which. Samples without both annotated eyes are detected as before;
        a build whose maps need 68 landmarks (``components``, ``--parser landmarks`` or
        ``segmentation``) detects them on every sample. ``--no-annotated-eyes`` detects them
        everywhere (68-point ``landmarks`` in every face's metadata).
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
    min_face_size : int
        Smallest face aligned, as the side in source pixels of its FFHQ crop square; a smaller
        face becomes a failure line giving its size. Default 96: at 512² that is at most 5.3x
        enlargement (unlimited, faces of 47 px were enlarged 10.9x and their sketches broke
        into blocks). 0 keeps every face.
    aligned_tolerance : float
        With ``auto``: an image whose largest face's FFHQ crop lies within this fraction of
        the image side of the image's own frame is already aligned (an FFHQ or CelebA-HQ
        crop) and is kept as it is. Default 0.15: aligned crops measured 0.002-0.11,
        portraits 0.22 and more. 0 turns the recognition off.
    max_landmark_shift : float
        Landmark quality gate: the landmarks are fitted again on the aligned crop and may
        move, on average, by at most this many eye distances; more, or no face found again,
        fails the face as implausible. Default 0.1 (good faces: median 0.017, 95th percentile
        0.06). 0 turns the gate off.
    sure_score : float
        Below this detector score the allowed shift shrinks in proportion (a doubtful
        detection must re-fit more closely). Default 0.6.
    """

    method: str = option("auto", flag="--align")
    all_faces: bool = option(False, flag="--all-faces")
    landmarks: bool = option(True, flag="--landmarks")
    annotated_eyes: bool = option(True, flag="--annotated-eyes")
    detect_size: int = option(640, flag="--detect-size")
    aligned_detect_size: int = option(256, flag="--aligned-detect-size")
    min_score: float = option(0.3, flag="--min-face-score")
    predictor: str | None = None
    min_face_size: int = option(96, flag="--min-face-size")
    aligned_tolerance: float = option(0.15, flag="--aligned-tolerance")
    max_landmark_shift: float = option(0.1, flag="--max-landmark-shift")
    sure_score: float = 0.6

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
        if self.min_face_size < 0:
            raise ConfigError(f"--min-face-size must be 0 or more pixels, not {self.min_face_size}")
        for flag, value in (
            ("--aligned-tolerance", self.aligned_tolerance),
            ("--max-landmark-shift", self.max_landmark_shift),
            ("--sure-score", self.sure_score),
        ):
            if value < 0:
                raise ConfigError(f"{flag} must be 0 or more, not {value}")


#: The metadata keys the align stage writes (see facedata.pipeline.schema).
ALIGN_META = {
    "properties": {
        "align": {"$ref": "#/$defs/align"},
        "landmarks": {
            "description": "The 68 dlib / 300-W landmarks [x, y], rounded to 0.01 px.",
            "type": "array",
            "items": {"$ref": "#/$defs/point"},
            "minItems": 68,
            "maxItems": 68,
        },
        "eyes": {
            "description": (
                "Eye centres: [image-left eye (points 36-41), image-right eye (42-47)], or the "
                "annotated eye parts' centres ordered by x."
            ),
            "type": "array",
            "items": {"$ref": "#/$defs/point"},
            "minItems": 2,
            "maxItems": 2,
        },
        "eyes_from": {
            "description": (
                "Where the eyes came from: detected landmarks, or the annotated l_eye/r_eye "
                "parts (--annotated-eyes, on annotated aligned sources)."
            ),
            "enum": ["landmarks", "annotations"],
        },
    },
    "required": ["align"],
    "dependentRequired": {
        "landmarks": ["eyes"],
        "eyes": ["eyes_from"],
        "eyes_from": ["eyes"],
    },
    "$defs": {
        "align": {
            "description": "What the align stage did (docs/alignment.md).",
            "type": "object",
            "required": ["method"],
            "additionalProperties": False,
            "properties": {
                "method": {"enum": ["none", "ffhq"]},
                "faces": {
                    "description": "Faces the detector found (absent when none was looked for).",
                    "type": "integer",
                    "minimum": 0,
                },
                "face": {
                    "description": "Index of this face, largest first.",
                    "type": "integer",
                    "minimum": 0,
                },
                "score": {"description": "dlib detector score of the face kept.", "type": "number"},
                "quad": {
                    "description": "FFHQ crop quad: 4 corners [x, y] in the original image.",
                    "type": "array",
                    "items": {"$ref": "#/$defs/point"},
                    "minItems": 4,
                    "maxItems": 4,
                },
                "enlargement": {
                    "description": "Output side / FFHQ crop side (above 1: the face was enlarged).",
                    "type": "number",
                    "exclusiveMinimum": 0,
                },
                "padded": {
                    "description": (
                        "Share of the output outside the source image (filled by padding)."
                    ),
                    "type": "number",
                    "minimum": 0,
                    "maximum": 1,
                },
                "refit_shift": {
                    "description": (
                        "Mean landmark move, in eye distances, when fitted again on the aligned "
                        "crop (null: no face found again)."
                    ),
                    "type": ["number", "null"],
                    "minimum": 0,
                },
                "recognised": {
                    "description": (
                        "--align auto found the image already aligned (its FFHQ crop is its frame)"
                        " and kept it."
                    ),
                    "const": "ffhq",
                },
                "frame_error": {
                    "description": (
                        "Largest distance of the FFHQ crop's corners from the frame's, as a "
                        "fraction of the side."
                    ),
                    "type": "number",
                    "minimum": 0,
                },
            },
            "if": {"properties": {"method": {"const": "ffhq"}}},
            "then": {"required": ["faces", "face", "quad", "enlargement", "padded"]},
            "else": {"not": {"anyOf": [{"required": ["face"]}, {"required": ["quad"]}]}},
        }
    },
}


class AlignStage(Stage):
    """Detect faces and landmarks; align with FFHQ's crop where asked."""

    name = "align"
    Config = AlignConfig
    meta_schema = ALIGN_META

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
            eyes = None
            if sample.landmarks is None and self.config.landmarks and source_aligned:
                eyes = self._annotated_eyes(sample)
            if eyes is not None:
                # Read back by the resize stage, which moves them into the output frame.
                sample.meta.update(eyes=eyes.tolist(), eyes_from="annotations")
            elif sample.landmarks is None and self.config.landmarks:
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
        if self.config.method == "auto" and self._already_aligned(sample, found):
            return
        chosen = found if self.config.all_faces else found[:1]
        for index, (landmarks, score) in enumerate(chosen):
            key = f"{sample.key}-f{index}" if self.config.all_faces else sample.key
            face = Sample(key=key, image=sample.image, meta=copy.deepcopy(sample.meta))
            guarded(self.name, face, self._check_size, landmarks, index)
            if face.ok:
                face = self._aligned(sample, key, landmarks, score, index, len(found))
                guarded(self.name, face, self._check_landmarks, score)
            made.append(face)

    def _annotated_eyes(self, sample: Sample) -> np.ndarray | None:
        """The annotated eye centres in the image's frame, when they replace detection."""
        if not self.config.annotated_eyes or sample.parsing is None:
            return None
        eyes = labelled_eyes(sample.parsing)
        if eyes is None:
            return None
        # Pixel centres of a label map at another resolution than the image (CelebAMask-HQ:
        # 512² parts of 1024² images, unless the JPEG was decoded at reduced scale).
        (h, w), (ph, pw) = sample.image.shape[:2], sample.parsing.shape
        return (eyes + 0.5) * np.array([w / pw, h / ph]) - 0.5

    def _already_aligned(self, sample: Sample, found: list) -> bool:
        """Keep an image whose largest face's FFHQ crop is its own frame (an aligned crop)."""
        tolerance = self.config.aligned_tolerance
        landmarks, score = found[0]
        error = frame_error(ffhq_quad(landmarks)[0], sample.image.shape[:2])
        if tolerance <= 0 or error > tolerance:
            return False
        sample.landmarks = landmarks
        sample.meta["align"] = {"method": "none", "recognised": "ffhq",
                                "frame_error": round(error, 4), "faces": len(found)}  # fmt: skip
        if score is not None:
            sample.meta["align"]["score"] = round(score, 3)
        return True

    def _check_size(self, sample: Sample, landmarks: np.ndarray, index: int) -> None:
        side = ffhq_quad(landmarks)[1]
        if side < self.config.min_face_size:
            raise RejectedError(
                f"face {index} is {side:.0f} px across (its FFHQ crop side), under "
                f"--min-face-size {self.config.min_face_size}: it would be enlarged "
                f"{self.context.size / side:.1f}x; pass a smaller --min-face-size to keep it",
                "small_face",
            )

    def _check_landmarks(self, sample: Sample, score: float | None) -> None:
        """Fit the landmarks again on the aligned crop; a face whose landmarks move fails."""
        limit = self.config.max_landmark_shift
        if limit <= 0 or score is None:  # a source's own landmarks are not detections
            return
        if score < self.config.sure_score:
            limit *= score / self.config.sure_score
        again = self.detector()(sample.image, detect_size=self.config.aligned_detect_size)
        eyes = sample.landmarks[36:42].mean(0) - sample.landmarks[42:48].mean(0)
        shifts = [np.hypot(*(f.landmarks - sample.landmarks).T).mean() for f in again]
        shift = min(shifts, default=np.inf) / max(float(np.hypot(*eyes)), 1e-6)
        sample.meta["align"]["refit_shift"] = round(float(shift), 3) if again else None
        if not again:
            raise RejectedError(
                f"implausible face (detector score {score:.2f}): no face is found again on its "
                "aligned crop, so its landmarks are probably wrong (a turned, hidden or "
                "blurred face); --max-landmark-shift 0 keeps such faces",
                "implausible_landmarks",
            )
        if shift > limit:
            raise RejectedError(
                f"implausible landmarks (detector score {score:.2f}): fitted again on the "
                f"aligned crop they move by {shift:.2f} eye distances, over {limit:.2f} "
                "(--max-landmark-shift, less below --sure-score); raise it to keep such faces",
                "implausible_landmarks",
            )

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
        quad, side = ffhq_quad(landmarks)
        meta["align"] = {
            "method": "ffhq",
            "faces": count,
            "face": index,
            "quad": np.round(quad, 2).tolist(),
            "enlargement": round(size / side, 3),
            "padded": round(padded_fraction(matrix, (h, w), size), 4),
        } | ({"score": round(score, 3)} if score is not None else {})
        return Sample(
            key=key,
            image=image,
            parsing=parsing,
            landmarks=transform_points(landmarks, matrix),
            meta=meta,
            fields=dict(sample.fields),
        )


def resolve_eyes(configs: dict[str, Any], registry: dict[str, Any]) -> AlignConfig:
    """The align config a build runs: ``annotated_eyes`` off when one of its stages needs
    68 landmarks (see :meth:`~facedata.pipeline.stages.Stage.needs_landmarks`), so the
    manifest's configuration says what ran."""
    align = configs["align"]
    needing = [n for n, c in configs.items() if stage_class(n, registry).needs_landmarks(c)]
    if not (align.annotated_eyes and needing):
        return align
    log.info("%s need 68 landmarks: detecting them on every sample", ", ".join(needing))
    return replace(align, annotated_eyes=False)
