"""Checkpoints: written atomically, read back safely (``weights_only``), sized up front."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .. import weights
from ..errors import MissingDataError
from ..io.atomic import atomic_path

if TYPE_CHECKING:
    from .trainer import Trainer

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


#: ``.<name>.tmp-<pid>[suffix]``, the temporary names of :func:`facedata.io.atomic.atomic_path`.
_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)")


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files in ``folder`` whose writing process is gone.

    A run killed inside ``torch.save`` leaves a full-size ``.checkpoint.pt.tmp-<pid>``; a
    file of a process still alive on this machine is kept. Returns the removed paths.
    """
    removed = []
    for path in sorted(Path(folder).glob(".*.tmp-*")):
        match = _TEMPORARY.match(path.name)
        if match and path.is_file() and not _alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process has not started writing yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def checkpoint_bytes(trainer: Trainer) -> dict[str, int]:
    """Bytes a checkpoint of ``trainer`` takes: ``weights`` (both networks) and ``optimizer``
    (Adam's two moment estimates per parameter, once it has stepped)."""
    networks = (trainer.generator, trainer.discriminator)
    tensors = [t for net in networks for t in (*net.parameters(), *net.buffers())]
    weights = sum(t.numel() * t.element_size() for t in tensors)
    params = sum(p.numel() * p.element_size() for net in networks for p in net.parameters())
    return {"weights": weights, "optimizer": 2 * params}
