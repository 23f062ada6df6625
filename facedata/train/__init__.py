"""SC-FEGAN, the reference training loop on facedata shards.

``Generator`` and ``Discriminator`` are importable on their own; ``train`` runs the loop that
``facedata train`` calls, ``evaluate`` the metrics of ``facedata evaluate``.

The configs import no torch; the other names below are imported on first use, so the CLI
can build the ``train`` and ``evaluate`` options from the configs without loading torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .config import EvalConfig, LossWeights, TrainConfig

#: Public name → the module (of this package) that defines it.
_LAZY = {
    "Discriminator": ".networks",
    "Generator": ".networks",
    "Trainer": ".trainer",
    "composite": ".networks",
    "generator_input": ".networks",
    "inpaint": ".networks",
    "train": ".run",
}

__all__ = ["EvalConfig", "LossWeights", "TrainConfig", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'facedata.train' has no attribute {name!r}")
