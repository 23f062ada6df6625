"""The ``color`` stage: ``color.png``, SC-FEGAN's median-colour map of the parsing segments."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError
from ..features import color
from ..sample import Sample
from ..shards.fields import FieldSpec
from .maps import record
from .networks import SmoothingSpec, connect
from .stages import BatchStage

#: ``auto``: ``torch`` with SC-FEGAN's full schedule when the build's device is a GPU, else
#: ``fast``; ``fast``: OpenCV on the coarse grid, small segments from full-resolution crops;
#: ``naive``: OpenCV at full resolution (SC-FEGAN's schedule); ``torch``: the smoothing as a
#: device job of the build's network process, the medians in the worker.
ROUTES = ("auto", "fast", "naive", "torch")


@dataclass(frozen=True)
class ColorConfig:
    """Options of the colour map.

    Attributes
    ----------
    route : str
        auto (on a CUDA device: torch with smoothing.factor 1, SC-FEGAN's full schedule;
        else fast), fast, naive (sets smoothing.factor to 1) or torch (the smoothing on the
        build's device, in its network process).
    background : str
        ``median`` (label 0 filled like any segment) or ``zero`` (black).
    smoothing : Smoothing
        Median and bilateral schedule (see :class:`facedata.features.color.Smoothing`).
    """

    route: str = "auto"
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

    def resolved(self, device: str) -> ColorConfig:
        """This config with ``auto`` replaced by the route it takes on ``device``.

        A build records the resolved config (a CPU build's ``auto`` is the ``fast`` config
        that was the default before ``auto``, so such builds resume unchanged).
        """
        if self.route != "auto":
            return self
        from ..device import resolves_to_cuda

        if resolves_to_cuda(device):
            return replace(self, route="torch", smoothing=replace(self.smoothing, factor=1))
        return replace(self, route="fast")


class ColorStage(BatchStage):
    """``color.png`` (RGB): every parsing label filled with its median smoothed colour.

    The method (``fast-x4``, ``naive`` or ``torch-x1``, the number being the grid factor) is
    recorded in every sample's metadata under ``maps.color``. On the torch route the
    smoothing is a device job (:class:`~facedata.pipeline.networks.SmoothingSpec`) served by
    the build's network process, batched with every worker's images; the worker takes the
    segment medians.
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
    def resolve(cls, config: ColorConfig, device: str) -> ColorConfig:
        return config.resolved(device)

    @classmethod
    def needs_device(cls, config: ColorConfig) -> bool:
        return config.route == "torch"

    @classmethod
    def network_specs(cls, config: ColorConfig) -> tuple[SmoothingSpec, ...]:
        return (SmoothingSpec(config.smoothing),) if config.route == "torch" else ()

    def setup(self) -> None:
        self.config = config = self.config.resolved(self.context.device)
        route, factor = config.route, config.smoothing.factor
        self.method = route if route == "naive" else f"{route}-x{factor}"
        self.smoother = None
        if route == "torch":
            (self.spec,) = self.network_specs(config)
            self.smoother = connect(self.spec, self.context.device, self.context.networks)

    def batched(self) -> bool:
        return self.smoother is not None

    def compute(self, samples: list[Sample]) -> list[np.ndarray]:
        background = self.config.background
        if self.smoother is None:
            smoothing = self.config.smoothing
            return [
                color.color_map(s.image, s.parsing, smoothing=smoothing, background=background)
                for s in samples
            ]
        images = np.stack([s.image for s in samples])
        if self.spec.with_labels:  # the small-segment crops depend on the segments
            labels = np.stack([s.parsing for s in samples])
            images = np.concatenate([images, labels[..., None]], axis=-1)
        smoothed = self.smoother(images)
        return [
            color.fill_segments(image, s.parsing, background=background)
            for image, s in zip(smoothed, samples)
        ]

    def store(self, sample: Sample, color_map: np.ndarray) -> None:
        sample.fields["color.png"] = color_map
        record(sample, "color", self.method)
