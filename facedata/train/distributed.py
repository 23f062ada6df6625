"""Data-parallel training under ``torchrun``: the process group, the device, the gradients.

``torchrun --nproc-per-node N -m cli train …`` (or ``torchrun … $(which facedata) train …``)
starts N copies of the command with ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set. Each copy
joins one process group (``nccl`` on GPUs, ``gloo`` on the CPU), trains on its own part of
the shards (:class:`facedata.data.ShardDataset` splits them by rank) and averages its
gradients with the others before every optimiser step, so every rank holds the same weights.
Rank 0 alone writes the run folder.

Gradients are averaged by hand rather than with ``DistributedDataParallel``: SC-FEGAN's
gradient penalty differentiates the discriminator with ``torch.autograd.grad``, which DDP's
gradient hooks do not support.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..device import resolve_device


@dataclass(frozen=True)
class Node:
    """Where this process stands in the job."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes logs, grids and checkpoints."""
        return self.rank == 0


def launched_world() -> int:
    """The number of processes ``torchrun`` started (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextlib.contextmanager
def process_group(device: str = "auto") -> Iterator[Node]:
    """Join the job ``torchrun`` started, if any, for the duration of a run.

    Outside torchrun (or with a process group already initialised by the caller) nothing is
    joined. Under torchrun with CUDA, each process takes GPU ``LOCAL_RANK``.

    Parameters
    ----------
    device : str
        ``--device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:i`` (see
        :func:`facedata.device.resolve_device`).
    """
    resolved = resolve_device(device)
    if dist.is_available() and dist.is_initialized():
        yield Node(dist.get_rank(), dist.get_world_size(), resolved)
        return
    if launched_world() == 1:
        yield Node(device=resolved)
        return
    if resolved.type == "cuda" and resolved.index is None:
        resolved = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(resolved)
    dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
    try:
        yield Node(dist.get_rank(), dist.get_world_size(), resolved)
    finally:
        dist.destroy_process_group()


def average_gradients(module: torch.nn.Module, world_size: int) -> None:
    """Replace each gradient of ``module`` by its mean over the ranks (one all-reduce).

    A no-op for a single process.
    """
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if world_size == 1 or not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_over_ranks(values: dict[str, float], world_size: int) -> dict[str, float]:
    """The mean of each logged value over the ranks (every rank must call it)."""
    if world_size == 1:
        return values
    names = sorted(values)
    total = torch.tensor([values[k] for k in names], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        total = total.cuda()
    dist.all_reduce(total)
    return {k: float(v) / world_size for k, v in zip(names, total.tolist())}
