"""The ``color`` stage: ``color.png``, SC-FEGAN's median-colour map of the parsing segments."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError
from ..features import color
from ..sample import Sample
from ..shards.fields import FieldSpec
from .maps import record
from .stages import BatchStage

#: ``fast``: OpenCV on the coarse grid, small segments from full-resolution crops; ``naive``:
#: OpenCV at full resolution (SC-FEGAN's schedule); ``torch``: the fast route batched on the
#: build's device.
ROUTES = ("fast", "naive", "torch")


@dataclass(frozen=True)
class ColorConfig:
    """Options of the colour map.

    Attributes
    ----------
    route : str
        ``fast``, ``naive`` (sets ``smoothing.factor`` to 1) or ``torch``.
    background : str
        ``median`` (label 0 filled like any segment) or ``zero`` (black).
    smoothing : Smoothing
        Median and bilateral schedule (see :class:`facedata.features.color.Smoothing`).
    """

    route: str = "fast"
    background: str = "median"
    smoothing: color.Smoothing = color.Smoothing()

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ConfigError(
                f"--color-route must be one of {', '.join(ROUTES)}, not {self.route!r}"
            )
        if self.background not in color.BACKGROUNDS:
            raise ConfigError(
                f"--color-background must be one of {', '.join(color.BACKGROUNDS)}, "
                f"not {self.background!r}"
            )
        if self.route == "naive" and self.smoothing.factor != 1:
            # The manifest then shows the schedule that actually runs.
            object.__setattr__(self, "smoothing", replace(self.smoothing, factor=1))


class ColorStage(BatchStage):
    """``color.png`` (RGB): every parsing label filled with its median smoothed colour.

    The method (``fast-x4``, ``naive`` or ``torch-x4``, the number being the grid factor) is
    recorded in every sample's metadata under ``maps.color``.
    """

    name = "color"
    method_schema = {"type": "string", "pattern": "^(naive|fast-x[0-9]+|torch-x[0-9]+)$"}
    fields = (
        FieldSpec(
            "color.png", "image", tensor="color", depth=3, preview="image",
            description="median colour of every parsing segment (RGB)",
        ),
    )  # fmt: skip
    Config = ColorConfig
    requires = ("parsing",)

    @classmethod
    def needs_device(cls, config: ColorConfig) -> bool:
        return config.route == "torch"

    def setup(self) -> None:
        route, factor = self.config.route, self.config.smoothing.factor
        self.method = route if route == "naive" else f"{route}-x{factor}"
        self.device = None
        if self.config.route == "torch":
            from ..device import resolve_device

            self.device = resolve_device(self.context.device)

    def batched(self) -> bool:
        return self.device is not None

    def compute(self, samples: list[Sample]) -> list[np.ndarray]:
        options = {"smoothing": self.config.smoothing, "background": self.config.background}
        if self.device is None:
            return [color.color_map(s.image, s.parsing, **options) for s in samples]
        import torch

        images = torch.from_numpy(np.stack([s.image for s in samples])).to(self.device)
        labels = torch.from_numpy(np.stack([s.parsing for s in samples])).to(self.device)
        return list(color.color_map(images, labels, **options).cpu().numpy())

    def store(self, sample: Sample, color_map: np.ndarray) -> None:
        sample.fields["color.png"] = color_map
        record(sample, "color", self.method)
