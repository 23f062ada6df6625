"""SC-FEGAN, the reference training loop on facedata shards.

``Generator`` and ``Discriminator`` are importable on their own; ``train`` runs the loop that
``facedata train`` calls, ``evaluate`` the metrics of ``facedata evaluate``.
"""

from __future__ import annotations

from .config import TrainConfig
from .losses import LossWeights
from .networks import Discriminator, Generator, composite, generator_input, inpaint
from .run import train
from .trainer import Trainer

__all__ = [
    "Discriminator",
    "Generator",
    "LossWeights",
    "TrainConfig",
    "Trainer",
    "composite",
    "generator_input",
    "inpaint",
    "train",
]
