"""Who reads what: the rank and world of a process, and the split of shards over readers.

A training job has ``world_size`` ranks, each with ``num_workers`` DataLoader workers, so
``world_size × num_workers`` readers ("slots"). Two splits give each sample to exactly one
slot per epoch:

* **by shard** when there are at least as many shards as slots: shards are dealt to slots so
  that the sample counts are as even as possible (largest first, onto the lightest slot);
* **by sample** when there are fewer: every slot reads every shard and keeps every
  ``slots``-th sample, so no rank is left without data.

The rank is found when the dataset is made, in the main process, and travels with it into
the DataLoader workers: inside a worker ``torch.distributed`` is not initialised, and a
spawned worker does not inherit a process group.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError


def node_info(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """This process's ``(rank, world_size)``.

    Taken from explicit arguments, else from an initialised ``torch.distributed`` process
    group, else from the ``RANK`` and ``WORLD_SIZE`` environment variables (set by
    ``torchrun``), else ``(0, 1)``.

    Raises
    ------
    ConfigError
        When only one of ``rank``/``world_size`` is given, ``rank`` is outside
        ``[0, world_size)``, or explicit values contradict the initialised process group.

    Examples
    --------
    >>> node_info(1, 4)
    (1, 4)
    """
    import torch.distributed as dist

    group = None
    if dist.is_available() and dist.is_initialized():
        group = (dist.get_rank(), dist.get_world_size())
    if (rank is None) != (world_size is None):
        raise ConfigError("pass both rank= and world_size=, or neither")
    if rank is not None:
        if group is not None and group != (rank, world_size):
            raise ConfigError(
                f"rank={rank}, world_size={world_size} contradict the process group "
                f"(rank {group[0]} of {group[1]}); drop the arguments"
            )
        found = (rank, world_size)
    elif group is not None:
        found = group
    elif "WORLD_SIZE" in os.environ:
        found = (int(os.environ.get("RANK", 0)), int(os.environ["WORLD_SIZE"]))
    else:
        found = (0, 1)
    if not 0 <= found[0] < found[1]:
        raise ConfigError(f"rank {found[0]} is not in [0, world_size={found[1]})")
    return found


def balanced_groups(weights: Sequence[int], parts: int) -> list[list[int]]:
    """Deal items to ``parts`` groups of near-equal total weight.

    Items go largest first (ties: in order) to the lightest group (ties: fewest items, then
    lowest index), so with at least ``parts`` items every group gets one. Each group lists
    its item indices in increasing order.

    Examples
    --------
    >>> balanced_groups([4, 4, 4, 1], 2)
    [[0, 2], [1, 3]]
    """
    order = sorted(range(len(weights)), key=lambda i: -weights[i])
    loads, groups = [0] * parts, [[] for _ in range(parts)]
    for i in order:
        g = min(range(parts), key=lambda p: (loads[p], len(groups[p]), p))
        groups[g].append(i)
        loads[g] += weights[i]
    return [sorted(g) for g in groups]


@dataclass(frozen=True)
class Share:
    """What one slot reads in one epoch.

    Attributes
    ----------
    shards : list of int
        Indices of the shards to read, in reading order.
    stride, offset : int
        Keep the samples whose running index ``i`` over those shards has
        ``i % stride == offset`` (``stride`` 1: every sample).
    """

    shards: list[int]
    stride: int = 1
    offset: int = 0


def slot_share(
    weights: Sequence[int], *, rank: int, world_size: int, worker: int, num_workers: int
) -> Share:
    """The share of shards (and samples) of one DataLoader worker of one rank.

    Parameters
    ----------
    weights : sequence of int
        Samples per shard (1 each when unknown), in the epoch's shard order.

    Examples
    --------
    >>> slot_share([3, 3, 3, 3], rank=1, world_size=2, worker=0, num_workers=2)
    Share(shards=[1], stride=1, offset=0)
    >>> slot_share([3], rank=1, world_size=2, worker=0, num_workers=2)
    Share(shards=[0], stride=4, offset=1)
    """
    slots = world_size * num_workers
    # Slots alternate between ranks, so that both splits even out the ranks first.
    slot = worker * world_size + rank
    if len(weights) >= slots:
        return Share(balanced_groups(weights, slots)[slot])
    return Share(list(range(len(weights))), slots, slot)


class SharedInt:
    """An integer that a dataset shares with its DataLoader workers, persistent ones too.

    It lives in shared memory: a worker forked or spawned by the DataLoader sees the value the
    main process sets later (:meth:`ShardDataset.set_epoch` with ``persistent_workers``). A
    copy made any other way (``copy.deepcopy``, pickling to a file) holds a new integer with
    the value at that moment.
    """

    def __init__(self, value: int = 0):
        self._value = multiprocessing.Value("q", value)

    @property
    def value(self) -> int:
        return self._value.value

    @value.setter
    def value(self, value: int) -> None:
        self._value.value = value

    def add(self, n: int = 1) -> None:
        with self._value.get_lock():
            self._value.value += n

    def __getstate__(self) -> dict:
        from multiprocessing.context import get_spawning_popen

        if get_spawning_popen() is not None:  # a process being started: share the memory
            return {"shared": self._value}
        return {"value": self.value}

    def __setstate__(self, state: dict) -> None:
        if "shared" in state:
            self._value = state["shared"]
        else:
            self.__init__(state["value"])
