"""What every mask generator receives and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
    """

    labels: np.ndarray | None = None
    landmarks: np.ndarray | None = None

    def eyes(self) -> list[tuple[float, float]]:
        """Eye centres ``(x, y)``: from landmarks (36-41, 42-47), else the label map's eyes."""
        if self.landmarks is not None:
            lm = np.asarray(self.landmarks, dtype=np.float64)
            return [tuple(lm[36:42].mean(0)), tuple(lm[42:48].mean(0))]
        if self.labels is None:
            return []
        found = (class_centroid(self.labels, LABEL[n]) for n in ("l_eye", "r_eye"))
        return [c for c in found if c is not None]

    def hair(self) -> np.ndarray | None:
        """Boolean hair region, or ``None`` without a label map."""
        return None if self.labels is None else self.labels == LABEL["hair"]


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
