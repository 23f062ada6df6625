"""Choosing the torch device from ``--device auto|cpu|cuda[:i]``."""

from __future__ import annotations

from .errors import ConfigError


def resolve_device(device: str = "auto"):
    """Return a ``torch.device``: ``auto`` picks CUDA when a GPU is visible, else the CPU.

    Raises
    ------
    ConfigError
        When CUDA is asked for explicitly and no GPU is visible.
    """
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {device} was asked for but no CUDA GPU is visible; use cpu")
    return dev


def task_device(device: str, index: int) -> str:
    """The device of the ``index``-th shard task: ``cuda`` spreads tasks over every GPU.

    With several GPUs, ``--device cuda`` (or ``auto``) sends task ``i`` to ``cuda:{i % n}``, so
    concurrent workers share the GPUs evenly; a device with an index is kept as given.
    """
    if device not in ("auto", "cuda"):
        return device
    import torch

    n = torch.cuda.device_count()  # counts devices without creating a CUDA context
    return f"cuda:{index % n}" if n > 1 else device
