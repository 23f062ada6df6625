"""What a shard field is: one :class:`FieldSpec` per field, declared by the stage that writes it.

A stage lists its fields as specs (:meth:`facedata.pipeline.stages.Stage.field_specs`); a build
copies the specs of every field it wrote into its manifest (``field_specs``). Everything that
reads a build asks the specs what a field is: ``verify`` checks its shape, dtype and values,
``preview`` draws it, ``inspect`` describes it, ``export`` names its files and
:class:`~facedata.data.ShardDataset` converts it to a tensor. A build therefore describes
itself, plugin fields included, without the plugin's code being importable by its readers.

This module imports nothing heavy: a reader that finds its specs in a manifest never loads a
stage.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .reader import MANIFEST, load_manifest

#: Field kinds: what the stored array means, which fixes how readers convert and draw it.
KINDS: dict[str, str] = {
    "image": "RGB uint8 image (H, W, 3)",
    "binary": "region, 0 or 255 (H, W)",
    "lines": "one-pixel lines, 0 or 255 (H, W); shrinking keeps every line",
    "labels": "label ids (H, W) uint8, resized with nearest neighbour",
    "gray": "grey levels 0-255 (H, W)",
    "cells": "per-cell float histograms (H/c, W/c, bins), never resized",
    "packed": "bit-packed stack (no tensor)",
}

#: Encodings of array fields (the field name's last extension; see facedata.shards.codec).
ENCODINGS = ("jpg", "png", "npy")

#: How ``preview`` draws a field: as an RGB image, as grey, in the label palette, as a hole
#: over the image, or grey stretched so its maximum is white (faint maps such as HOG glyphs).
PREVIEWS = ("image", "gray", "labels", "hole", "stretch")


#: Encodings a derivation may read: lossless, so the decoded source is what the build held.
LOSSLESS = ("png", "npy")


@dataclass(frozen=True)
class Derivation:
    """How a field is computed from other fields of its sample (see
    :mod:`facedata.shards.derive`): a field that has one may be left out of the shards.

    Attributes
    ----------
    sources : tuple of str
        The fields it is computed from, losslessly encoded (``png``, ``npy``).
    function : str or callable
        ``function(*sources, size=S, **params)`` → the field's array, where ``S`` is the
        build's ``--size``; given as ``"module:name"`` or as the function itself, which is
        recorded by its module and name. Readers import it when the field was left out.
    params : mapping or tuple of (str, value)
        Further keyword arguments of ``function`` (the options it depends on), JSON values.

    Examples
    --------
    >>> d = Derivation(("parsing.png",), "facedata.features.derived:hair_png")
    >>> d.compute({"parsing.png": np.array([[13, 1]], np.uint8)}, size=2).tolist()
    [[255, 0]]
    """

    sources: tuple[str, ...]
    function: str
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        function = self.function
        if callable(function):
            object.__setattr__(self, "function", f"{function.__module__}:{function.__qualname__}")
            # Kept for this process: a function defined in a script (__main__) has no import path
            # that other processes share.
            object.__setattr__(self, "_function", function)
        object.__setattr__(self, "sources", tuple(self.sources))
        params = self.params.items() if isinstance(self.params, Mapping) else self.params
        object.__setattr__(self, "params", tuple(sorted((str(k), v) for k, v in params)))
        lossy = [s for s in self.sources if s.rsplit(".", 1)[-1] not in LOSSLESS]
        if not self.sources or lossy:
            raise ConfigError(
                f"a derivation reads one or more losslessly encoded fields ({', '.join(LOSSLESS)}),"
                f" not {', '.join(lossy) or 'none'}"
            )

    def resolve(self) -> Callable[..., np.ndarray]:
        """The function, imported from its ``"module:name"``.

        Raises
        ------
        ConfigError
            When it cannot be imported.
        """
        if hasattr(self, "_function"):
            return self._function
        module, _, name = self.function.partition(":")
        try:
            target: Any = importlib.import_module(module)
            for part in name.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"the derivation {self.function} cannot be imported ({exc}): install the "
                "package that defines it, or rebuild with --store-derived"
            ) from None
        return target

    def compute(self, values: Mapping[str, np.ndarray], *, size: int) -> np.ndarray:
        """The field, from its decoded sources (``values``: field name → array)."""
        return self.resolve()(*(values[s] for s in self.sources), size=size, **dict(self.params))

    def to_json(self) -> dict:
        return {"sources": list(self.sources), "function": self.function,
                "params": dict(self.params)}  # fmt: skip


@dataclass(frozen=True)
class FieldSpec:
    """One shard field, as every reader of a build understands it.

    Attributes
    ----------
    name : str
        Field name in the shard: the tar member's name after the sample key, e.g.
        ``mask.png``; its last extension (``jpg``, ``png``, ``npy``) is the encoding.
    kind : str
        One of :data:`KINDS`.
    tensor : str or None
        Key of the field's tensor in :class:`~facedata.data.ShardDataset` items (``None``:
        no tensor conversion).
    side : int or None
        Shape rule relative to the build's ``--size`` S: the stored side is ``S // side``
        (1: the output size; 8: one value per 8-pixel cell); ``None``: any shape (patches,
        packed stacks).
    depth : int or None
        Length of the trailing axis (3 for RGB, the bins of a histogram); ``None``: a 2-D
        array.
    dtype : str
        Stored numpy dtype.
    values : tuple of int or None
        The only values allowed (``(0, 255)`` for binary maps).
    max_value : int or None
        The largest value allowed (the last label id).
    preview : str or None
        How ``preview`` draws it (one of :data:`PREVIEWS`); ``None``: not a preview column.
    description : str
        One line for ``inspect`` and the docs.
    derive : Derivation or None
        How the field is computed from other fields of the sample, when it is; the build
        then writes it from that derivation, may leave it out (``--no-store-derived``), and
        readers compute it when it is not stored.

    Examples
    --------
    >>> spec = FieldSpec("mask.png", "binary", tensor="mask", values=(0, 255), preview="hole")
    >>> spec.problems(np.zeros((4, 4), np.uint8), size=4)
    []
    >>> spec.problems(np.ones((4, 2), np.uint8), size=4)
    ['mask.png is 2x4, expected 4x4', 'mask.png holds values other than 0, 255']
    """

    name: str
    kind: str
    tensor: str | None = None
    side: int | None = 1
    depth: int | None = None
    dtype: str = "uint8"
    values: tuple[int, ...] | None = None
    max_value: int | None = None
    preview: str | None = None
    description: str = ""
    derive: Derivation | None = None

    def __post_init__(self) -> None:
        if isinstance(self.derive, Mapping):  # read back from a manifest
            object.__setattr__(self, "derive", Derivation(**self.derive))
        if self.kind not in KINDS:
            raise ConfigError(
                f"field {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}"
            )
        if self.preview is not None and self.preview not in PREVIEWS:
            raise ConfigError(
                f"field {self.name!r}: preview {self.preview!r} is not one of "
                f"{', '.join(PREVIEWS)} or None"
            )
        if self.encoding not in ENCODINGS or self.name.startswith("."):
            raise ConfigError(
                f"field name {self.name!r} must end in an encoding: {', '.join(ENCODINGS)} "
                "(e.g. gradient.png)"
            )
        if self.values is not None:
            object.__setattr__(self, "values", tuple(self.values))
        if self.derive is not None and self.encoding not in LOSSLESS:
            raise ConfigError(
                f"derived field {self.name!r} must be stored losslessly ({', '.join(LOSSLESS)}), "
                "so that computing it again gives the stored bytes"
            )

    @property
    def encoding(self) -> str:
        """The codec extension (``"png"`` for ``parsing.png``)."""
        return self.name.rsplit(".", 1)[-1]

    def shape(self, size: int) -> tuple[int, ...] | None:
        """The stored shape in a build of side ``size`` (``None``: any side)."""
        if self.side is None:
            return None
        side = size // self.side
        return (side, side) + (() if self.depth is None else (self.depth,))

    def problems(self, value: np.ndarray, *, size: int) -> list[str]:
        """What is wrong with one decoded value of this field (empty when sound)."""
        if not isinstance(value, np.ndarray):
            return [f"{self.name} did not decode to an array"]
        found = []
        expected = self.shape(size)
        if expected is not None and value.shape != expected:
            if value.shape[:2] != expected[:2]:
                found.append(f"{self.name} is {_dims(value.shape)}, expected {_dims(expected)}")
            else:
                found.append(f"{self.name} has shape {value.shape}, expected {expected}")
        if value.dtype != np.dtype(self.dtype):
            found.append(f"{self.name} has dtype {value.dtype}, expected {self.dtype}")
            return found
        if not value.size:
            return found
        if self.max_value is not None and value.max() > self.max_value:
            noun = "label id" if self.kind == "labels" else "value"
            found.append(
                f"{self.name} holds {noun} {value.max().item()} (valid: 0-{self.max_value})"
            )
        if self.values is not None and not np.isin(value, self.values).all():
            found.append(f"{self.name} holds values other than {', '.join(map(str, self.values))}")
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            found.append(f"{self.name} holds NaN or infinite values")
        return found

    def to_json(self) -> dict:
        """A plain dict for the manifest (:meth:`from_json` reads it back)."""
        data = asdict(self)
        data["derive"] = None if self.derive is None else self.derive.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict) -> FieldSpec:
        """Read a spec from the manifest; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _dims(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}"


def manifest_specs(manifest: dict) -> dict[str, FieldSpec]:
    """Field name → spec of a build, from its manifest.

    A manifest written before builds recorded their specs (or by another tool) gets those of
    the registered stages (which imports the stage modules), for the fields it lists, or all
    of them when it lists none.
    """
    if "field_specs" in manifest:
        return {d["name"]: FieldSpec.from_json(d) for d in manifest["field_specs"]}
    known = registered_specs()
    if "fields" not in manifest:
        return known
    return {f: known[f] for f in manifest["fields"] if f in known}


def registered_specs() -> dict[str, FieldSpec]:
    """Field name → spec of every field the registered stages write with default options."""
    from ..pipeline.stages import all_stages, stage_class

    specs: dict[str, FieldSpec] = {}
    for name in all_stages():
        cls = stage_class(name)
        for spec in cls.field_specs(cls.Config()):
            specs.setdefault(spec.name, spec)
    return specs


def specs_for_shards(urls: Sequence[str | os.PathLike]) -> dict[str, FieldSpec]:
    """The specs of the build a list of shards belongs to.

    The manifest is looked for beside a local first shard and one folder up (a build's split
    folder); shards without one (remote, or copied out of their build) get
    :func:`registered_specs`.
    """
    manifest = manifest_of_shards(urls)
    return registered_specs() if manifest is None else manifest_specs(manifest)


def manifest_of_shards(urls: Sequence[str | os.PathLike]) -> dict | None:
    """The manifest of the build a list of shards belongs to (see :func:`specs_for_shards`),
    or ``None``."""
    if urls:
        first = Path(urls[0])
        for folder in (first.parent, first.parent.parent):
            if first.is_file() and (folder / MANIFEST).is_file():
                return load_manifest(folder)
    return None


def field_spec_schema() -> dict:
    """The JSON Schema of one manifest ``field_specs`` entry (``docs/manifest.schema.json``
    holds it as ``$defs/field_spec``; a test keeps the two equal)."""
    count = {"type": ["integer", "null"], "minimum": 1}
    return {
        "description": "FieldSpec (facedata/shards/fields.py): what a field is, for its readers.",
        "type": "object",
        "required": [f.name for f in fields(FieldSpec)],
        "additionalProperties": False,
        "properties": {
            "name": {"$ref": "#/$defs/field"},
            "kind": {"enum": list(KINDS)},
            "tensor": {"type": ["string", "null"], "pattern": "^[a-z][a-z0-9_]*$"},
            "side": count,
            "depth": count,
            "dtype": {"type": "string"},
            "values": {"type": ["array", "null"], "items": {"type": "integer"}},
            "max_value": {"type": ["integer", "null"]},
            "preview": {"enum": [*PREVIEWS, None]},
            "description": {"type": "string"},
            "derive": {
                "description": "Derivation: the field is function(*sources, size, **params); "
                "readers compute it when the build left it out (derived_fields).",
                "type": ["object", "null"],
                "required": ["sources", "function", "params"],
                "additionalProperties": False,
                "properties": {
                    "sources": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/field"}},
                    "function": {
                        "type": "string",
                        "pattern": "^[A-Za-z_][\\w.]*:[A-Za-z_][\\w.]*$",
                    },
                    "params": {"type": "object"},
                },
            },
        },
    }
