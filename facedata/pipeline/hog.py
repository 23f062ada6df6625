"""The ``hog`` stage: per-cell HOG histograms (``hog.npy``) and their glyph image (``hog.png``)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError
from ..features import hog
from ..sample import Sample
from ..shards.fields import Derivation, FieldSpec
from .maps import record
from .stages import BatchStage

ROUTES = ("numpy", "torch")
CHANNELS = ("rgb", "gray")


@dataclass(frozen=True)
class HogConfig:
    """Options of the HOG maps.

    Attributes
    ----------
    route : str
        ``numpy`` (per sample on the CPU) or ``torch`` (batched on the build's device).
    orientations : int
        Orientation bins over [0, 180) degrees.
    cell : int
        Cell side in pixels.
    channels : str
        ``rgb`` (each pixel's strongest channel, as ``skimage.feature.hog`` with
        ``channel_axis=-1``) or ``gray`` (OpenCV's luma first).
    """

    route: str = "numpy"
    orientations: int = 9
    cell: int = 8
    channels: str = "rgb"

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ConfigError(f"--hog-route must be one of {', '.join(ROUTES)}, not {self.route!r}")
        if self.channels not in CHANNELS:
            raise ConfigError(
                f"--hog-channels must be one of {', '.join(CHANNELS)}, not {self.channels!r}"
            )
        if self.orientations < 1 or self.cell < 2:
            raise ConfigError(
                f"--hog-orientations must be >= 1 and --hog-cell >= 2, got {self.orientations} "
                f"and {self.cell}"
            )


class HogStage(BatchStage):
    """``hog.npy``: (size // cell, size // cell, orientations) float16 cell histograms of the
    image scaled to [0, 1]; ``hog.png``: (size, size) uint8 glyph image of those stored
    histograms, 255 at its maximum (a derived field: the build draws it when it writes it).

    See docs/hog.md for the exact definitions.
    """

    name = "hog"
    method_schema = {"type": "string", "pattern": "^hog-(rgb|gray)-o[0-9]+$"}
    Config = HogConfig

    @classmethod
    def field_specs(cls, config: HogConfig) -> tuple[FieldSpec, ...]:
        return (
            FieldSpec(
                "hog.npy", "cells", tensor="hog", side=config.cell, depth=config.orientations,
                dtype="float16", description="per-cell HOG histograms of the image in [0, 1]",
            ),
            FieldSpec(
                "hog.png", "gray", tensor="hog_glyphs", preview="stretch",
                description="HOG glyph image, 255 at its maximum",
                derive=Derivation(
                    ("hog.npy",), "facedata.features.derived:hog_png", {"cell": config.cell}
                ),
            ),
        )  # fmt: skip

    @classmethod
    def needs_device(cls, config: HogConfig) -> bool:
        return config.route == "torch"

    def setup(self) -> None:
        self.device = None
        if self.config.route == "torch":
            from ..device import resolve_device

            self.device = resolve_device(self.context.device)

    def _input(self, image: np.ndarray) -> np.ndarray:
        return image if self.config.channels == "rgb" else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)

    def batched(self) -> bool:
        return self.device is not None

    def compute(self, samples: list[Sample]) -> list[np.ndarray]:
        images = np.stack([self._input(s.image) for s in samples])
        if self.device is not None:
            import torch

            images = torch.from_numpy(images).to(self.device)
        cell = (self.config.cell, self.config.cell)
        hist = hog.cell_histograms(
            images if self.device is not None else images[0],
            orientations=self.config.orientations,
            pixels_per_cell=cell,
            channel_axis=-1 if self.config.channels == "rgb" else None,
        )
        # Histograms are linear in the image scale: dividing by 255 gives those of image / 255.
        hist = hist / 255
        if self.device is None:
            return [hist.astype(np.float16)]
        import torch

        return list(hist.to(torch.float16).cpu().numpy())

    def store(self, sample: Sample, hist: np.ndarray) -> None:
        # hog.png is derived from the stored histograms: the build draws it when it keeps it.
        sample.fields["hog.npy"] = hist
        record(sample, "hog", f"hog-{self.config.channels}-o{self.config.orientations}")
