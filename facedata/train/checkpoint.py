"""Checkpoints: written atomically, read back safely (``weights_only``)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .. import weights
from ..errors import MissingDataError
from ..io.atomic import atomic_path

#: Keys every facedata training checkpoint holds.
REQUIRED = ("step", "config", "generator")


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: never half a file."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` onto the CPU.

    Raises
    ------
    MissingDataError
        When the file is missing or is not a facedata training checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"checkpoint {path} does not exist")
    state = weights.load_state_dict(path, download=False)
    if missing := [k for k in REQUIRED if k not in state]:
        raise MissingDataError(
            f"{path} is not a facedata training checkpoint (it lacks {', '.join(missing)})"
        )
    return state
