"""The records that flow through a build: a cheap reference, then the loaded sample."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SampleRef:
    """What a source lists before anything is decoded; small and picklable.

    Attributes
    ----------
    key : str
        Sample key, unique in the source, without dots (WebDataset convention).
    path : str
        The image file.
    orig_file : str or None
        CelebA file name (``000001.jpg``) used to join the official split, when known.
    meta : dict
        Source metadata already known from annotation tables (attributes, pose, ids).
    problem : str or None
        Why the sample cannot be built, found while listing (two files claiming one id); the
        sample then becomes a failure line instead of being loaded.
    """

    key: str
    path: str
    orig_file: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


@dataclass
class Sample:
    """A sample being processed.

    Attributes
    ----------
    key : str
    image : (H, W, 3) uint8 ndarray
        RGB image; at the output size once the pipeline has resized it.
    parsing : (H, W) uint8 ndarray or None
        Label map with official CelebAMask-HQ ids 0-18, same height and width as ``image``.
    landmarks : (68, 2) float32 ndarray or None
        dlib 68-point landmarks ``(x, y)`` in the image frame.
    meta : dict
        JSON-serialisable metadata written as the sample's ``json`` field.
    fields : dict
        Output fields by WebDataset field name (``"mask.png"``), arrays or bytes.
    error : tuple of (stage, message) or None
        Set when a stage failed; the sample is then not written.
    rejected : str or None
        With ``error``, when a quality gate turned the sample away: the gate's reason
        (``small_face``, ``implausible_landmarks``).
    """

    key: str
    image: np.ndarray
    parsing: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    error: tuple[str, str] | None = None
    rejected: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def fail(self, stage: str, message: str, rejected: str | None = None) -> None:
        """Mark the sample as failed in ``stage`` (rejected by a quality gate when
        ``rejected`` names its reason); the first failure is kept."""
        if self.error is None:
            self.error = (stage, message)
            self.rejected = rejected
