"""The JSON Schema of a sample's metadata, merged from the fragments its writers declare.

Each writer of the ``json`` field declares the keys it writes, next to its code:

- the build loop: ``key``, ``source``, ``split`` and ``seed`` (:data:`BUILD_META`, here);
- a source: the keys it reads from its dataset (``Source.meta_schema``, each class of its MRO);
- a stage: the keys it adds (``Stage.meta_schema``) and, as ``Stage.method_schema``, the method
  it records under ``maps``.

A fragment is a dict with any of ``properties`` (key → JSON Schema), ``required``, ``$defs``,
``dependentRequired`` and ``allOf``. A key a map stage ``required`` is present exactly when
its map was computed; a key of an always-running stage (align, resize) or of the build is
present in every sample. ``docs/sample-metadata.schema.json`` is :func:`sample_metadata_schema`
of the built-in stages and sources (``python docs/make_schemas.py`` writes it; a test keeps the
two equal); with plugins registered the same function covers their keys too.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import ConfigError
from ..sources import SOURCES
from .stages import _NAME, ALWAYS, STAGES, Stage, all_stages, stage_class

#: What the build loop itself writes into every sample.
BUILD_META: dict[str, Any] = {
    "properties": {
        "key": {
            "description": "The sample key, equal to the tar members' name before the first dot.",
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]+$",
        },
        "split": {
            "description": "`all` when the build used --split none.",
            "enum": ["train", "val", "test", "all"],
        },
        "seed": {"description": "The build's global seed.", "type": "integer"},
    },
    "required": ["key", "source", "split", "seed"],
}

#: Shapes that several writers' fragments refer to (``#/$defs/point`` ...).
SHARED_DEFS: dict[str, Any] = {
    "point": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    "size2": {
        "type": "array",
        "items": {"type": "integer", "minimum": 1},
        "minItems": 2,
        "maxItems": 2,
    },
    "box": {
        "description": "[x0, y0, x1, y1], half-open pixel box: rows y0..y1-1, columns x0..x1-1.",
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 4,
        "maxItems": 4,
    },
    "unit": {"type": "number", "minimum": 0, "maximum": 1},
}

FRAGMENT_KEYS = ("properties", "required", "$defs", "dependentRequired", "allOf")


def maps_schema(registry: dict[str, str | type[Stage]] | None = None) -> dict:
    """The schema's ``$defs/maps``: each stage's ``method_schema`` (the built-in stages by
    default), and a string method for any other map (a plugin's)."""
    stages = STAGES if registry is None else registry
    return {
        "description": "Map name → the method that produced it, for every map this build "
        "computed (each stage's method_schema; a plugin's map: any string).",
        "type": "object",
        "propertyNames": {"pattern": _NAME.pattern},
        "additionalProperties": {"type": "string"},
        "properties": {n: stage_class(n, stages).method_schema for n in stages if n not in ALWAYS},
    }


def sample_metadata_schema(*, plugins: bool = False) -> dict:
    """The sample-metadata schema of the built-in stages and sources, plus, with ``plugins``,
    of every registered and installed stage.

    Raises
    ------
    ConfigError
        When two writers declare one key (or one ``$defs`` entry) differently.

    Examples
    --------
    >>> schema = sample_metadata_schema()
    >>> schema["properties"]["mask"], "mask" in schema["$defs"]
    ({'$ref': '#/$defs/mask'}, True)
    """
    registry = all_stages() if plugins else STAGES
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://facedata.invalid/schemas/sample-metadata.schema.json",
        "title": "facedata sample metadata (the `json` field of every sample)",
        "description": "Format version 1. Generated from the fragments the build loop "
        "(facedata/pipeline/schema.py), each source (Source.meta_schema) and each stage "
        "(Stage.meta_schema, Stage.method_schema) declare; docs/shards.md explains every key. "
        "Coordinates are pixels of the output image (x right, y down) unless a key says "
        "otherwise.",
        "type": "object",
        "required": [],
        "additionalProperties": False,
        "properties": {},
        "dependentRequired": {},
        "allOf": [],
        "$defs": copy.deepcopy(SHARED_DEFS),
    }
    _merge(schema, "the build", BUILD_META)
    schema["properties"]["source"] = {"enum": list(SOURCES)}
    for cls in SOURCES.values():
        for klass in reversed(cls.__mro__):
            if "meta_schema" in vars(klass):
                _merge(schema, f"source {klass.__name__}", klass.meta_schema)
    schema["properties"]["maps"] = {"$ref": "#/$defs/maps"}
    schema["$defs"]["maps"] = maps_schema(registry)
    per_map = []
    for name in registry:
        fragment = stage_class(name, registry).meta_schema
        if name in ALWAYS:
            _merge(schema, f"stage {name}", fragment)
            continue
        _merge(schema, f"stage {name}", {k: v for k, v in fragment.items() if k != "required"})
        if fragment.get("required"):
            per_map.append((name, list(fragment["required"])))
    schema["allOf"][:0] = [
        {
            "description": "Each map's metadata comes with the map's method, and the reverse.",
            "dependentRequired": {key: ["maps"] for _, keys in per_map for key in keys},
        },
        *(
            {
                "if": {"required": ["maps"], "properties": {"maps": {"required": [name]}}},
                "then": {"required": keys},
            }
            for name, keys in per_map
        ),
    ]
    return schema


def _merge(schema: dict, who: str, fragment: dict) -> None:
    """Add one writer's fragment to ``schema`` in place."""
    if unknown := set(fragment) - set(FRAGMENT_KEYS):
        raise ConfigError(
            f"{who}: meta_schema keys {', '.join(sorted(unknown))} are not among "
            f"{', '.join(FRAGMENT_KEYS)}"
        )
    for part in ("properties", "$defs", "dependentRequired"):
        for key, value in fragment.get(part, {}).items():
            if schema[part].setdefault(key, value) != value:
                raise ConfigError(f"{who} declares metadata {part} {key!r} unlike another writer")
    schema["required"] += [k for k in fragment.get("required", ()) if k not in schema["required"]]
    schema["allOf"] += fragment.get("allOf", [])
