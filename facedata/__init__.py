"""facedata: face datasets to training shards for face inpainting and editing models.

A new map is a :class:`Stage` subclass that declares its fields as :class:`FieldSpec`; give it
to :func:`register_stage` (or install it under the entry-point group ``facedata.stages``) and
``--maps`` accepts it, builds write it, and verify, preview, inspect, export and
``facedata.data.ShardDataset`` serve its fields. ``docs/plugins.md`` walks through an example.

The names below are imported on first use, so ``import facedata.data`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

from .opencv import check as _check_opencv  # noqa: E402

_check_opencv()  # before any module imports cv2: a clash is named, with the fix

#: Public name → the module that defines it.
_LAZY = {
    "BatchStage": "facedata.pipeline.stages",
    "FieldSpec": "facedata.shards.fields",
    "Stage": "facedata.pipeline.stages",
    "StageContext": "facedata.pipeline.stages",
    "record": "facedata.pipeline.stages",
    "register_stage": "facedata.pipeline.stages",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facedata' has no attribute {name!r}")
