"""Stages for face-editing models: component patches and simulated label-map edits."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, FacedataError
from ..features.components import COMPONENTS, ComponentSizes, blank_boxes, component_boxes, crop
from ..features.edits import EditConfig, random_edit
from ..labels import CLASSES
from ..sample import Sample
from ..seeding import sample_rng
from ..shards.fields import FieldSpec
from .maps import record
from .stages import Stage, guarded

#: The metadata key of the component boxes.
COMPONENTS_META = {
    "properties": {"components": {"$ref": "#/$defs/components"}},
    "required": ["components"],
    "$defs": {
        "component": {
            "type": "object",
            "required": ["box", "from"],
            "additionalProperties": False,
            "properties": {
                "box": {"$ref": "#/$defs/box"},
                "from": {"enum": ["landmarks", "labels", "default"]},
            },
        },
        "components": {
            "description": "The boxes of the component patches (docs/components.md).",
            "type": "object",
            "required": ["l_eye", "r_eye", "nose", "mouth"],
            "additionalProperties": False,
            "properties": {
                "l_eye": {"$ref": "#/$defs/component"},
                "r_eye": {"$ref": "#/$defs/component"},
                "nose": {"$ref": "#/$defs/component"},
                "mouth": {"$ref": "#/$defs/component"},
            },
        },
    },
}


class ComponentsStage(Stage):
    """Per component an image and a sketch patch, plus the rest of the face with them blanked.

    Fields: ``{component}.jpg`` and ``{component}.sketch.png`` for ``l_eye``, ``r_eye``,
    ``nose`` and ``mouth``; ``rest.jpg`` and ``rest.sketch.png``. Metadata ``components``:
    per component ``{"box": [x0, y0, x1, y1], "from": "landmarks" | "labels" | "default"}``.
    Sketch patches are cut from the ``sketch.png`` field of the ``sketch`` stage.
    """

    name = "components"
    method_schema = {"enum": ["landmarks", "parsing"]}
    meta_schema = COMPONENTS_META
    fields = tuple(
        spec
        for part in (*COMPONENTS, "rest")
        for spec in (
            FieldSpec(
                f"{part}.jpg", "image", tensor=part, side=1 if part == "rest" else None, depth=3,
                description=f"{part} image (patch, or the face with the patches blanked)",
            ),
            FieldSpec(
                f"{part}.sketch.png", "lines", tensor=f"{part}_sketch",
                side=1 if part == "rest" else None,
                values=(0, 255), description=f"sketch of {part}.jpg",
            ),
        )
    )  # fmt: skip
    Config = ComponentSizes
    requires = ("parsing", "sketch")

    @classmethod
    def needs_landmarks(cls, config: ComponentSizes) -> bool:
        return True  # the boxes follow the landmarks' eye, nose and mouth outlines

    def process(self, sample: Sample) -> None:
        sketch = sample.fields.get("sketch.png")
        if not isinstance(sketch, np.ndarray):
            raise FacedataError(
                "components needs the sketch stage's sketch.png array in the sample; "
                "check that the sketch map runs before components"
            )
        shape = sample.image.shape[:2]
        if sketch.shape[:2] != shape:
            raise FacedataError(f"sketch.png is {sketch.shape[:2]}, the image {shape}")
        boxes = component_boxes(
            shape, labels=sample.parsing, landmarks=sample.landmarks, sizes=self.config
        )
        for part, info in boxes.items():
            sample.fields[f"{part}.jpg"] = crop(sample.image, info["box"])
            sample.fields[f"{part}.sketch.png"] = crop(sketch, info["box"])
        rects = [info["box"] for info in boxes.values()]
        sample.fields["rest.jpg"] = blank_boxes(sample.image, rects)
        sample.fields["rest.sketch.png"] = blank_boxes(sketch, rects)
        sample.meta["components"] = boxes
        record(sample, "components", "landmarks" if sample.landmarks is not None else "parsing")


@dataclass(frozen=True)
class EditsConfig:
    """Simulated label edits.

    Attributes
    ----------
    window : int
        The reference is drawn among the last ``window`` samples of the same shard that
        reached this stage healthy, before the sample itself.
    edit : EditConfig
        How the interpolation factor and the simple edits are drawn.
    """

    window: int = 16
    edit: EditConfig = EditConfig()

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ConfigError(f"edits window must be at least 1, got {self.window}")


#: The metadata key that says how parsing_edit.png was made.
EDITS_META = {
    "properties": {"edit": {"$ref": "#/$defs/edit"}},
    "required": ["edit"],
    "$defs": {
        "edit": {
            "description": "How parsing_edit.png was made (docs/edits.md).",
            "type": "object",
            "required": ["reference", "factor", "operations"],
            "additionalProperties": False,
            "properties": {
                "reference": {
                    "description": "Key of the reference sample (same shard, earlier), or null.",
                    "type": ["string", "null"],
                    "pattern": "^[A-Za-z0-9_-]+$",
                },
                "factor": {"$ref": "#/$defs/unit"},
                "operations": {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            {
                                "type": "object",
                                "required": ["op", "pixels"],
                                "additionalProperties": False,
                                "properties": {
                                    "op": {"enum": ["hair", "mouth"]},
                                    "pixels": {"type": "integer", "not": {"const": 0}},
                                },
                            },
                            {
                                "type": "object",
                                "required": ["op", "part", "shift", "scale"],
                                "additionalProperties": False,
                                "properties": {
                                    "op": {"const": "move"},
                                    "part": {
                                        "enum": ["l_eye", "r_eye", "l_brow", "r_brow", "mouth"]
                                    },
                                    "shift": {
                                        "type": "array",
                                        "items": {"type": "integer"},
                                        "minItems": 2,
                                        "maxItems": 2,
                                    },
                                    "scale": {"type": "number", "exclusiveMinimum": 0},
                                },
                            },
                        ]
                    },
                },
            },
            "if": {"properties": {"reference": {"type": "null"}}},
            "then": {"properties": {"factor": {"const": 0}}},
        }
    },
}


class EditsStage(Stage):
    """``parsing_edit.png``: the label map morphed towards a reference sample's, then edited.

    The reference is another sample of the same shard: one of the ``window`` healthy samples
    just before this one, picked with ``sample_rng(seed, key, "edit", 0)``. A shard's
    composition depends only on the source, the split, ``--limit`` and ``--shard-size``, so
    the choice is the same whatever the number of workers or the batch size. The first
    sample of a shard has no reference and gets only the simple edits (factor 0).
    Metadata ``edit``: ``{"reference": key or None, "factor": f, "operations": [...]}``.
    """

    name = "edits"
    method_schema = {"const": "sdf-interpolation"}
    meta_schema = EDITS_META
    fields = (
        FieldSpec(
            "parsing_edit.png", "labels", tensor="parsing_edit", max_value=len(CLASSES) - 1,
            preview="labels", description="the label map after a simulated edit",
        ),
    )  # fmt: skip
    Config = EditsConfig
    requires = ("parsing",)

    def setup(self) -> None:
        self.start_shard()

    def start_shard(self) -> None:
        self._recent: deque[tuple[str, np.ndarray]] = deque(maxlen=self.config.window)

    def run(self, samples: list[Sample]) -> None:
        for sample in samples:
            if sample.ok:
                guarded(self.name, sample, self.process)
            if sample.ok:
                self._recent.append((sample.key, sample.parsing))

    def process(self, sample: Sample) -> None:
        rng = sample_rng(self.context.seed, sample.key, "edit", 0)
        ref_key, reference = None, None
        if self._recent:
            ref_key, reference = self._recent[int(rng.integers(len(self._recent)))]
            if reference.shape != sample.parsing.shape:
                raise FacedataError(
                    f"reference {ref_key} is {reference.shape}, this label map "
                    f"{sample.parsing.shape}"
                )
        edited, description = random_edit(sample.parsing, reference, rng, self.config.edit)
        sample.fields["parsing_edit.png"] = edited
        sample.meta["edit"] = {"reference": ref_key, **description}
        record(sample, "edits", "sdf-interpolation")
