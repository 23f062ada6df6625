"""The ``sketch`` stage: ``sketch.png`` (255 = line) from HED edges or the XDoG fallback."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import weights
from ..errors import ConfigError, MissingWeightsError
from ..features import sketch
from ..options import option
from ..sample import Sample
from ..seeding import sample_rng
from ..shards.fields import FieldSpec
from .maps import record
from .networks import NetworkSpec, connect
from .stages import BatchStage

METHODS = ("auto", "hed", "xdog")


@dataclass(frozen=True)
class SketchConfig:
    """Options of the sketch map.

    Attributes
    ----------
    method : str
        ``hed`` (a missing weight is an error), ``xdog`` (classical, no weights), or ``auto``
        (HED when its weights are cached, otherwise XDoG with a warning).
    weights : str
        HED weights: ``hed-bsds500``, ``hed-controlnet`` or a file path.
    style : SketchStyle
        CLAHE and clean-up options (see :class:`facedata.features.sketch.SketchStyle`).
    """

    method: str = option("auto", flag="--sketch")
    weights: str = option("hed-bsds500", flag="--hed-weights")
    style: sketch.SketchStyle = sketch.SketchStyle()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"--sketch must be one of {', '.join(METHODS)}, not {self.method!r}")


class SketchStage(BatchStage):
    """``sketch.png``: a hand-drawn-looking line drawing, 255 on lines.

    The network runs once per batch (all images of a batch have the output size); the
    clean-up runs per sample. The method used (``hed-bsds500``, ``hed-controlnet`` or
    ``xdog``) is recorded in every sample's metadata under ``maps.sketch``.
    """

    name = "sketch"
    method_schema = {"enum": ["hed-bsds500", "hed-controlnet", "xdog"]}
    fields = (
        FieldSpec(
            "sketch.png", "lines", tensor="sketch", values=(0, 255), preview="gray",
            description="line drawing, 255 = line",
        ),
    )  # fmt: skip
    Config = SketchConfig

    @classmethod
    def needs_device(cls, config: SketchConfig) -> bool:
        return config.method == "hed" or (
            config.method == "auto" and weights.available(config.weights)
        )

    @classmethod
    def network_specs(cls, config: SketchConfig) -> tuple[NetworkSpec, ...]:
        return (NetworkSpec("hed", config.weights),) if cls.needs_device(config) else ()

    @classmethod
    def check(cls, config: SketchConfig) -> None:
        """HED asked for explicitly needs its weights (downloaded now when possible); HED
        weights that ``auto`` would use must be sound. A corrupt file is one error before the
        build starts, never a fallback to XDoG that changes the data without a word."""
        if config.method == "hed" or cls.needs_device(config):
            weights.verify(config.weights, download=config.method == "hed")

    @classmethod
    def notice(cls, config: SketchConfig) -> str | None:
        if config.method != "auto":
            return None
        try:
            weights.resolve(config.weights, download=False)
        except MissingWeightsError as exc:
            return (
                "HED weights unavailable, so sketches come from XDoG: classical edges, more "
                f"texture and fewer soft outlines than HED. {exc}"
            )
        return None

    def setup(self) -> None:
        self.network = None
        self.method = "xdog"
        if not self.needs_device(self.config):
            return
        (spec,) = self.network_specs(self.config)
        self.network = connect(spec, self.context.device, self.context.networks)
        self.method = f"hed-{self.network.family}"

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        clip = self.config.style.clahe_clip
        return image if clip is None else sketch.equalize(image, clip_limit=clip)

    def compute(self, samples: list[Sample]) -> list[np.ndarray]:
        """HED edge maps, or for XDoG the finished one-pixel lines (it adapts per sample)."""
        prepared = [self._prepare(s.image) for s in samples]
        style = self.config.style
        if self.network is None:
            return [
                sketch.xdog_sketch(im, enlargement=_enlargement(s, self.context.size), style=style)
                for im, s in zip(prepared, samples)
            ]
        return list(self.network(np.stack(prepared)))

    def store(self, sample: Sample, result: np.ndarray) -> None:
        rng = sample_rng(self.context.seed, sample.key, "sketch", 0)
        style = self.config.style
        sample.fields["sketch.png"] = (
            sketch.finish(result, style=style, rng=rng)
            if self.network is None
            else sketch.clean(result, style=style, rng=rng)
        )
        record(sample, "sketch", self.method)


def _enlargement(sample: Sample, size: int) -> float:
    """How many times the sample's face was enlarged to reach the output size."""
    align = sample.meta.get("align", {})
    if "enlargement" in align:
        return max(1.0, float(align["enlargement"]))
    side = sample.meta.get("crop", [0, 0, min(sample.meta.get("original_size", [size, size]))])[2]
    return max(1.0, size / max(side, 1))
