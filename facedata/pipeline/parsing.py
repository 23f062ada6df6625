"""The ``parsing`` stage: a 19-class label map for every sample, annotated or not.

Runs after ``resize``: images are ``size`` x ``size`` and landmarks are in that frame. Samples
that go to a network are parsed together, one forward pass per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import weights
from ..errors import ConfigError, FacedataError
from ..labels import CLASSES
from ..options import option
from ..sample import Sample
from ..shards.fields import FieldSpec
from .maps import record
from .networks import NetworkSpec, connect
from .stages import Stage, guarded

PARSERS = ("auto", "annotations", "bisenet", "parsenet", "segmentation", "landmarks")
#: Parsers that work from landmarks; the segmentation parser also reads the photo.
OFFLINE = ("segmentation", "landmarks")
#: What each offline parser cannot draw, said once per build when it stands in for a network.
OFFLINE_COST = {
    "segmentation": "no eyeglasses, earrings or necklace; a hat only where its colour stands "
    "apart from the hair",
    "landmarks": "no hair, hat, eyeglasses, ears, neck or cloth",
}
NETWORKS = ("bisenet", "parsenet")


def _cached_network() -> str | None:
    """The first network whose weights are on this machine (``auto`` uses it)."""
    # Weight names follow features.parsing.ARCHS; looked up here without importing torch.
    return next((n for n in NETWORKS if weights.available(f"parsing-{n}")), None)


@dataclass(frozen=True)
class ParsingConfig:
    """Where label maps come from.

    Attributes
    ----------
    parser : str
        ``annotations`` (the dataset's own; a sample without them fails), ``bisenet`` or
        ``parsenet`` (facexlib's networks, for every sample), ``segmentation`` (the landmark
        parts plus hair, hat, ears, neck and cloth segmented from the photo, no network),
        ``landmarks`` (the landmark parts only: no hair), or ``auto``: annotations where the
        sample has them, else a network whose weights are cached (BiSeNet first), else
        segmentation.
    weights : str or None
        Weight name or checkpoint file for ``bisenet``/``parsenet``; default: the registered
        ``parsing-bisenet``/``parsing-parsenet``.
    """

    parser: str = option("auto", flag="--parser")
    weights: str | None = None

    def __post_init__(self):
        if self.parser not in PARSERS:
            raise ConfigError(f"--parser must be one of {', '.join(PARSERS)}, not {self.parser!r}")
        if self.weights is not None and self.parser not in NETWORKS:
            raise ConfigError(
                "--parsing-weights needs --parser bisenet or --parser parsenet (it names the "
                "network's checkpoint)"
            )


#: The metadata keys of the label map (CelebAMask-HQ's reader sets parsing_method too).
PARSING_META = {
    "properties": {
        "parsing_has_hair": {
            "description": (
                "False when the label map comes from the landmark parser, which draws no hair."
            ),
            "type": "boolean",
        },
        "parsing_method": {
            "description": (
                "Where the label map came from: set by the CelebAMask-HQ reader (annotations), and"
                " made to agree with maps.parsing when the parsing stage runs."
            ),
            "enum": [p for p in PARSERS if p != "auto"],
        },
    },
    "required": ["parsing_has_hair"],
}


class ParsingStage(Stage):
    """The 19-class label map (``parsing.png``, official ids 0-18)."""

    name = "parsing"
    method_schema = {"enum": [p for p in PARSERS if p != "auto"]}
    meta_schema = PARSING_META
    fields = (
        FieldSpec(
            "parsing.png", "labels", tensor="parsing", max_value=len(CLASSES) - 1,
            preview="labels", description="CelebAMask-HQ label ids 0-18",
        ),
    )  # fmt: skip
    Config = ParsingConfig

    @classmethod
    def needs_device(cls, config: ParsingConfig) -> bool:
        return config.parser in NETWORKS or (
            config.parser == "auto" and _cached_network() is not None
        )

    @classmethod
    def network_specs(cls, config: ParsingConfig) -> tuple[NetworkSpec, ...]:
        network = config.parser if config.parser in NETWORKS else None
        if config.parser == "auto":
            network = _cached_network()
        if network is None:
            return ()
        return (NetworkSpec("parsing", config.weights or f"parsing-{network}", network),)

    @classmethod
    def check(cls, config: ParsingConfig) -> None:
        """The network's weights (asked for, or cached for ``auto``) must be sound: a corrupt
        file is one error before the build starts. Asked-for weights are downloaded now."""
        for spec in cls.network_specs(config):
            weights.verify(
                spec.weights, download=config.parser in NETWORKS, expect=f"parsing-{spec.arch}"
            )

    @classmethod
    def needs_landmarks(cls, config: ParsingConfig) -> bool:
        return config.parser in OFFLINE

    @classmethod
    def notice(cls, config: ParsingConfig) -> str | None:
        if config.parser in OFFLINE:
            return f"parsing from {config.parser}: {OFFLINE_COST[config.parser]}"
        if config.parser == "auto" and _cached_network() is None:
            return (
                "no parsing network cached, so samples without annotations are parsed by "
                f"segmentation: {OFFLINE_COST['segmentation']}; `facedata weights fetch "
                "parsing-bisenet` adds the network"
            )
        return None

    def setup(self) -> None:
        self._net = None
        specs = self.network_specs(self.config)
        self._network: str | None = specs[0].arch if specs else None
        if self.config.parser in NETWORKS:
            # Asked for by name: missing weights stop the shard at once, with the fix.
            self._load()

    def _load(self):
        if self._net is None:
            (spec,) = self.network_specs(self.config)
            self._net = connect(spec, self.context.device, self.context.networks)
        return self._net

    def _method(self, sample: Sample) -> str:
        parser = self.config.parser
        if parser == "annotations" and sample.parsing is None:
            raise FacedataError(
                "this sample has no parsing annotations; use --parser auto, bisenet, parsenet "
                "or landmarks for unannotated images"
            )
        if parser in OFFLINE and sample.landmarks is None:
            raise FacedataError(
                "no face landmarks for the landmark parser (no face was found, or --no-landmarks "
                "was given)"
            )
        if parser != "auto":
            return parser
        if sample.parsing is not None:
            return "annotations"
        if self._network is not None:
            return self._network
        if sample.landmarks is not None:
            return "segmentation"
        raise FacedataError(
            "no parsing annotations, no cached parsing weights and no face landmarks for this "
            "sample; run `facedata weights fetch parsing-bisenet` (or `facedata weights add`), "
            "or keep landmarks on"
        )

    def run(self, samples: list[Sample]) -> None:
        to_network: list[Sample] = []
        for sample in samples:
            if sample.ok:
                guarded(self.name, sample, self._route, to_network)
        if to_network:
            # One forward pass for the batch; a failure there fails each of its samples.
            carrier = to_network[0]
            guarded(self.name, carrier, self._parse_network, to_network)
            for sample in to_network[1:]:
                if not carrier.ok:
                    sample.fail(*carrier.error)

    def _route(self, sample: Sample, to_network: list[Sample]) -> None:
        method = self._method(sample)
        if method in NETWORKS:
            to_network.append(sample)
            return
        if method == "landmarks":
            from ..features.landmark_parsing import landmark_parsing

            sample.parsing = landmark_parsing(sample.landmarks, sample.image.shape[:2])
        elif method == "segmentation":
            from ..features.head_parsing import head_parsing

            sample.parsing = head_parsing(sample.image, sample.landmarks)
        self._finish(sample, method)

    def _parse_network(self, _carrier: Sample, samples: list[Sample]) -> None:
        labels = self._load()(np.stack([s.image for s in samples]))
        for sample, label_map in zip(samples, labels):
            sample.parsing = label_map
            self._finish(sample, self._network)

    def _finish(self, sample: Sample, method: str) -> None:
        record(sample, "parsing", method)
        # The landmark parser draws no hair: say so, for hair.png and hair-based masks.
        sample.meta["parsing_has_hair"] = method != "landmarks"
        # A source's note of where its labels came from must agree with the map written.
        sample.meta["parsing_method"] = method
        sample.fields["parsing.png"] = sample.parsing
