"""What every mask generator receives and returns, and the stroke rasteriser they share."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import cv2
import numpy as np

from ..labels import LABEL, class_centroid


@dataclass(frozen=True)
class MaskContext:
    """Optional face information a generator may use.

    Attributes
    ----------
    labels : (H, W) uint8 ndarray or None
        Label map with official CelebAMask-HQ ids, same size as the mask.
    landmarks : (68, 2) float ndarray or None
        dlib landmarks ``(x, y)`` in the mask's frame.
    known_eyes : (2, 2) float array-like or None
        Eye centres ``(x, y)`` known without landmarks (from the annotated eye parts: the
        sample metadata's ``eyes`` when ``eyes_from`` is ``annotations``).
    """

    labels: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    known_eyes: np.ndarray | None = None

    @classmethod
    def from_shard(cls, sample: dict, side: int | None = None) -> MaskContext:
        """The context of a decoded shard sample, for masks drawn at ``side`` pixels.

        Uses its ``parsing.png`` (resized with nearest neighbour) and the ``landmarks`` (else
        the ``eyes``) of its ``json`` metadata (scaled), exactly what the build's mask stage
        saw.
        """
        stored = sample["jpg"].shape[0]
        side = side or stored
        labels = sample.get("parsing.png")
        if labels is not None and labels.shape[0] != side:
            labels = cv2.resize(labels, (side, side), interpolation=cv2.INTER_NEAREST)
        meta = sample.get("json", {})
        landmarks, eyes = meta.get("landmarks"), meta.get("eyes")
        if landmarks is not None:
            landmarks, eyes = np.asarray(landmarks, np.float64) * (side / stored), None
        if eyes is not None:
            eyes = np.asarray(eyes, np.float64) * (side / stored)
        return cls(labels=labels, landmarks=landmarks, known_eyes=eyes)

    @property
    def has_face(self) -> bool:
        """Whether a label map or landmarks are known."""
        return self.labels is not None or self.landmarks is not None

    # The face's geometry is computed once per context, however many masks and tries use it.
    @cached_property
    def eyes(self) -> list[tuple[float, float]]:
        """Eye centres ``(x, y)``: from landmarks (36-41, 42-47), else the known eyes, else
        the label map's eyes."""
        if self.landmarks is not None:
            lm = np.asarray(self.landmarks, dtype=np.float64)
            return [tuple(lm[36:42].mean(0)), tuple(lm[42:48].mean(0))]
        if self.known_eyes is not None:
            return [tuple(map(float, eye)) for eye in self.known_eyes]
        if self.labels is None:
            return []
        found = (class_centroid(self.labels, LABEL[n]) for n in ("l_eye", "r_eye"))
        return [c for c in found if c is not None]

    @cached_property
    def hair(self) -> np.ndarray | None:
        """Boolean hair region, or ``None`` without a label map."""
        return None if self.labels is None else self.labels == LABEL["hair"]

    @cached_property
    def face_box(self) -> tuple[int, int, int, int] | None:
        """``(x0, y0, x1, y1)`` (exclusive ends) of the face: skin to lips in the label map,
        else the landmarks' bounding box; ``None`` when neither is known."""
        if self.labels is not None:
            box = bounding_box((self.labels > 0) & (self.labels < LABEL["hair"]))
            if box is not None:
                return box
        if self.landmarks is not None:
            lo = np.floor(np.asarray(self.landmarks).min(0)).astype(int)
            hi = np.ceil(np.asarray(self.landmarks).max(0)).astype(int) + 1
            return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])
        return None


class MaskGenerator(Protocol):
    """``(height, width, rng, context) -> (mask, info)``.

    ``mask`` is an ``(H, W)`` uint8 array with 1 = hole; ``info`` a JSON-serialisable dict of
    what the generator did (for the sample's metadata).
    """

    def __call__(
        self, height: int, width: int, rng: np.random.Generator, context: MaskContext
    ) -> tuple[np.ndarray, dict]: ...


def coverage(mask: np.ndarray) -> float:
    """Fraction of hole pixels."""
    return float(np.count_nonzero(mask)) / mask.size


def draw_stroke(mask: np.ndarray, points: np.ndarray, width: int) -> None:
    """Draw a polyline of the given width into ``mask`` (value 1), in place.

    OpenCV draws thick segments with round caps of diameter ``width``, so consecutive
    segments meet in round joints: the filled circle at every vertex of DeepFillv2's brush.

    Parameters
    ----------
    mask : (H, W) uint8 ndarray
        Drawn into in place.
    points : (N, 2) float ndarray
        Vertices ``(x, y)``; rounded to pixels.
    width : int
        Stroke width in pixels (at least 1).
    """
    poly = np.round(points).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(mask, [poly], False, 1, max(1, int(width)), cv2.LINE_8)


def bounding_box(region: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (exclusive ends) of the non-zero pixels, or ``None`` if none.

    Parameters
    ----------
    region : (H, W) bool or uint8 ndarray
    """
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(region).view(np.uint8))
    return None if w == 0 else (x, y, x + w, y + h)
