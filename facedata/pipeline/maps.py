"""The stages of the core maps: resizing, face and hair regions, masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..align.detect import landmark_meta
from ..errors import ConfigError
from ..masks import FAMILIES, MaskContext, MaskSpec, pack_masks
from ..options import option
from ..resize import center_square, resize_image, resize_labels
from ..sample import Sample
from ..shards.fields import Derivation, FieldSpec
from .stages import Stage, record

#: The metadata key the resize stage writes for a non-square image.
RESIZE_META = {
    "properties": {
        "crop": {
            "description": (
                "[x0, y0, side]: the centred square cut from a non-square image (original pixels)."
            ),
            "type": "array",
            "items": {"type": "integer", "minimum": 0},
            "minItems": 3,
            "maxItems": 3,
        }
    }
}


class ResizeStage(Stage):
    """Crop to the centred square (when not square) and resize to the output size."""

    name = "resize"
    meta_schema = RESIZE_META
    fields = (
        FieldSpec(
            "jpg", "image", tensor="image", depth=3, preview="image",
            description="RGB image at --size",
        ),
    )  # fmt: skip

    def process(self, sample: Sample) -> None:
        size = self.context.size
        h, w = sample.image.shape[:2]
        # Sources record the file's size; the pixels may be a reduced-scale decode of it.
        original = sample.meta.setdefault("original_size", [int(w), int(h)])
        # Eyes taken from annotations by the align stage, in the image's frame until here.
        eyes = np.asarray(sample.meta["eyes"], np.float64) if "eyes" in sample.meta else None
        if h != w:
            x0, y0, side = center_square((h, w))
            sample.image = sample.image[y0 : y0 + side, x0 : x0 + side]
            if sample.landmarks is not None:
                sample.landmarks = sample.landmarks - np.array([x0, y0], np.float32)
            if eyes is not None:
                eyes = eyes - np.array([x0, y0])
            if sample.parsing is not None:
                ph, pw = sample.parsing.shape
                sx, sy = pw / w, ph / h
                px0, py0, pside = round(x0 * sx), round(y0 * sy), round(side * sx)
                sample.parsing = sample.parsing[py0 : py0 + pside, px0 : px0 + pside]
            ox0, oy0, oside = center_square((original[1], original[0]))
            sample.meta["crop"] = [int(ox0), int(oy0), int(oside)]  # in the file's pixels
            h = w = side
        sample.image = resize_image(sample.image, size)
        if sample.landmarks is not None:
            # Rounded as the metadata stores them, so maps drawn from landmarks (masks) can be
            # redrawn exactly from a shard alone.
            sample.landmarks = np.round(sample.landmarks.astype(np.float64) * (size / w), 2)
            sample.meta.update(landmark_meta(sample.landmarks), eyes_from="landmarks")
        elif eyes is not None:
            sample.meta["eyes"] = np.round(eyes * (size / w), 2).tolist()  # as landmarks are
        if sample.parsing is not None:
            sample.parsing = resize_labels(sample.parsing, size)
        sample.fields["jpg"] = sample.image


class FaceStage(Stage):
    """``face.png``: 255 on skin, brows, eyes, glasses, ears, nose, mouth and lips.

    A derived field (of ``parsing.png``): the build computes it when it writes it.
    """

    name = "face"
    method_schema = {"const": "parsing"}
    fields = (
        FieldSpec(
            "face.png", "binary", tensor="face", values=(0, 255), preview="gray",
            description="255 on the face without hair, neck and clothes",
            derive=Derivation(("parsing.png",), "facedata.features.derived:face_png"),
        ),
    )  # fmt: skip
    requires = ("parsing",)

    def process(self, sample: Sample) -> None:
        record(sample, "face", "parsing")


class HairStage(Stage):
    """``hair.png``: 255 on hair (derived from ``parsing.png``, like ``face.png``)."""

    name = "hair"
    method_schema = {"const": "parsing"}
    fields = (
        FieldSpec(
            "hair.png", "binary", tensor="hair", values=(0, 255), preview="gray",
            description="255 on hair",
            derive=Derivation(("parsing.png",), "facedata.features.derived:hair_png"),
        ),
    )  # fmt: skip
    requires = ("parsing",)

    def process(self, sample: Sample) -> None:
        record(sample, "hair", "parsing")


@dataclass(frozen=True)
class MaskConfig(MaskSpec):
    """Free-form masks: a :class:`~facedata.masks.MaskSpec` plus how many per sample.

    Attributes
    ----------
    kind, min_coverage, max_coverage, max_tries
        See :class:`~facedata.masks.MaskSpec`.
    count : int
        Masks per sample. The first is ``mask.png``; with ``count > 1`` all of them are also
        stored bit-packed in ``masks.npy`` (see :func:`~facedata.masks.pack_masks`).
    """

    count: int = option(1, flag="--masks-per-sample")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.count < 1:
            raise ConfigError(f"--masks-per-sample must be at least 1, got {self.count}")


#: The metadata keys the mask stage writes: mask 0's description, and the stack's.
MASK_META = {
    "properties": {"mask": {"$ref": "#/$defs/mask"}, "masks": {"$ref": "#/$defs/masks"}},
    "required": ["mask"],
    "dependentRequired": {"masks": ["mask"]},
    "$defs": {
        "mask_family": {"enum": [f for f in FAMILIES if f != "mixed"]},
        "mask_kind": {
            "description": "--mask-kind: a family, or `mixed`.",
            "anyOf": [{"$ref": "#/$defs/mask_family"}, {"const": "mixed"}],
        },
        "mask": {
            "description": (
                "Mask 0 (mask.png): the kind asked for, the family drawn, its coverage and what "
                "the family drew (docs/masks.md)."
            ),
            "type": "object",
            "required": ["kind", "family", "coverage", "tries", "in_range"],
            "additionalProperties": False,
            "properties": {
                "kind": {"$ref": "#/$defs/mask_kind"},
                "family": {"$ref": "#/$defs/mask_family"},
                "coverage": {"description": "Hole fraction, 6 digits.", "$ref": "#/$defs/unit"},
                "tries": {
                    "description": "Masks drawn to meet the coverage bounds.",
                    "type": "integer",
                    "minimum": 1,
                },
                "in_range": {
                    "description": "False when no try met the bounds (the closest was kept).",
                    "type": "boolean",
                },
                "strokes": {"type": "integer", "minimum": 0},
                "eyes": {"type": "integer", "minimum": 0, "maximum": 2},
                "eyes_from": {"enum": ["landmarks", "annotations", "parsing", None]},
                "hair": {
                    "description": "Hair added to the hole; null without a label map.",
                    "type": ["boolean", "null"],
                },
                "flip": {
                    "description": "[left-right, up-down] flips of DeepFill strokes.",
                    "type": "array",
                    "items": {"type": "boolean"},
                    "minItems": 2,
                    "maxItems": 2,
                },
                "box": {"oneOf": [{"$ref": "#/$defs/box"}, {"type": "null"}]},
                "boxes": {"type": "array", "items": {"$ref": "#/$defs/box"}, "minItems": 1},
                "reference": {
                    "description": "LaMa: the preset's reference side.",
                    "enum": [256, 512],
                },
                "scale": {
                    "description": "LaMa: pixel quantities scaled by this.",
                    "type": "number",
                    "exclusiveMinimum": 0,
                },
                "part": {"enum": ["eye", "eyes", "nose", "mouth", "hair"]},
                "region": {"type": "string"},
                "shape": {"enum": ["blob", "box"]},
                "grow": {"type": "integer", "minimum": 0},
            },
            "allOf": [
                {
                    "if": {"properties": {"kind": {"not": {"const": "mixed"}}}},
                    "then": {
                        "$comment": "a single family is its own family",
                        "$ref": "#/$defs/family_is_kind",
                    },
                },
                {
                    "if": {"properties": {"family": {"const": "scfegan"}}},
                    "then": {"required": ["strokes", "eyes", "eyes_from", "hair"]},
                },
                {
                    "if": {"properties": {"family": {"const": "deepfill"}}},
                    "then": {"required": ["strokes", "flip", "box"]},
                },
                {
                    "if": {
                        "properties": {
                            "family": {"enum": ["lama-thin", "lama-medium", "lama-thick"]}
                        }
                    },
                    "then": {
                        "required": ["reference", "scale"],
                        "oneOf": [{"required": ["strokes"]}, {"required": ["boxes"]}],
                    },
                },
                {
                    "if": {"properties": {"family": {"const": "box"}}},
                    "then": {"required": ["boxes"]},
                },
                {
                    "if": {"properties": {"family": {"const": "gfc"}}},
                    "then": {"required": ["box"], "properties": {"box": {"$ref": "#/$defs/box"}}},
                },
                {
                    "if": {"properties": {"family": {"const": "part"}}},
                    "then": {"required": ["part", "region", "shape", "grow", "box"]},
                },
            ],
        },
        "family_is_kind": {
            "anyOf": [
                {"properties": {"kind": {"const": f}, "family": {"const": f}}}
                for f in FAMILIES
                if f != "mixed"
            ]
        },
        "masks": {
            "description": "With --masks-per-sample K > 1: the masks of masks.npy.",
            "type": "object",
            "required": ["shape", "items"],
            "additionalProperties": False,
            "properties": {
                "shape": {
                    "description": "[K, H, W] of the unpacked stack.",
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1},
                    "minItems": 3,
                    "maxItems": 3,
                },
                "items": {
                    "type": "array",
                    "minItems": 2,
                    "items": {
                        "type": "object",
                        "required": ["family", "coverage", "in_range"],
                        "additionalProperties": False,
                        "properties": {
                            "family": {"$ref": "#/$defs/mask_family"},
                            "coverage": {"$ref": "#/$defs/unit"},
                            "in_range": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
}


class MaskStage(Stage):
    """``mask.png`` (255 = hole) and, with ``count > 1``, ``masks.npy``.

    Mask k of a sample comes from :func:`~facedata.seeding.sample_rng` ``(seed, key, "mask",
    k)``. Metadata: ``mask`` (family, coverage, tries, in_range and the family's info for
    mask 0) and, with ``count > 1``, ``masks`` (``shape`` of the unpacked stack and
    ``family``/``coverage``/``in_range`` of every mask).
    """

    name = "mask"
    meta_schema = MASK_META
    method_schema = {"$ref": "#/$defs/mask_kind"}
    fields = (
        FieldSpec(
            "mask.png", "binary", tensor="mask", values=(0, 255), preview="hole",
            description="free-form mask, 255 = hole",
        ),
    )  # fmt: skip
    Config = MaskConfig

    #: Pilot masks drawn by :meth:`check` on the demo face, and their side.
    PILOTS, PILOT_SIZE = 16, 128

    @classmethod
    def field_specs(cls, config: MaskConfig) -> tuple[FieldSpec, ...]:
        if config.count == 1:
            return cls.fields
        packed = FieldSpec(
            "masks.npy", "packed", side=None,
            description=f"{config.count} masks, bit-packed along the last axis",
        )  # fmt: skip
        return cls.fields + (packed,)

    @classmethod
    def check(cls, config: MaskConfig) -> None:
        """Refuse a coverage range that the family never reaches, before the build starts.

        A mask still out of range after ``max_tries`` is kept and flagged ``in_range: False``;
        when none of :attr:`PILOTS` masks on the demo face gets in range, every sample would
        be such a mask, so the options are refused instead.
        """
        if (config.min_coverage, config.max_coverage) == (0.0, 1.0):
            return
        from ..sources.demo import demo_face

        _, labels = demo_face(size=cls.PILOT_SIZE)
        context = MaskContext(labels=labels, landmarks=None)
        side = cls.PILOT_SIZE
        infos = [
            config.sample(0, f"pilot-{k}", 0, side, side, context)[1] for k in range(cls.PILOTS)
        ]
        if not any(info["in_range"] for info in infos):
            seen = sorted(info["coverage"] for info in infos)
            raise ConfigError(
                f"no {config.kind} mask reaches coverage {config.min_coverage:g}–"
                f"{config.max_coverage:g} ({cls.PILOTS} drawn on the demo face covered "
                f"{seen[0]:.3f}–{seen[-1]:.3f}); widen --min-coverage/--max-coverage"
            )

    def process(self, sample: Sample) -> None:
        size = self.context.size
        eyes = sample.meta.get("eyes") if sample.landmarks is None else None
        context = MaskContext(labels=sample.parsing, landmarks=sample.landmarks, known_eyes=eyes)
        drawn = [
            self.config.sample(self.context.seed, sample.key, k, size, size, context)
            for k in range(self.config.count)
        ]
        mask, info = drawn[0]
        sample.fields["mask.png"] = mask * np.uint8(255)
        sample.meta["mask"] = {"kind": self.config.kind, **info}
        if self.config.count > 1:
            sample.fields["masks.npy"] = pack_masks(np.stack([m for m, _ in drawn]))
            sample.meta["masks"] = {
                "shape": [self.config.count, size, size],
                "items": [{k: i[k] for k in ("family", "coverage", "in_range")} for _, i in drawn],
            }
        record(sample, "mask", self.config.kind)
