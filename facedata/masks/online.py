"""Masks drawn on the fly in any pipeline of decoded samples (e.g. plain WebDataset).

:class:`facedata.data.ShardDataset` (``masks="fresh"``) does the same for facedata's own loader.

A fresh mask per sample per epoch, reproducible and independent of which DataLoader worker
reads the sample. The generator of a draw is :func:`facedata.seeding.sample_rng`
``(seed, key, "mask-online-<base>", n)`` where ``base`` is the DataLoader's base seed for the
epoch (the same in every worker of it, new each epoch, reproducible with
``torch.manual_seed`` or the loader's ``generator``; 0 outside workers) and ``n`` counts how
often this transform object has seen ``key`` (which renews masks when workers persist or
no workers are used).
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import get_worker_info

from ..seeding import sample_rng
from .base import MaskContext
from .sampling import MaskSpec


def _base_seed() -> int:
    info = get_worker_info()
    # A worker's seed is the loader's per-epoch base seed plus the worker id.
    return 0 if info is None else info.seed - info.id


class OnlineMasks:
    """Add a freshly drawn mask to a decoded shard sample.

    Parameters
    ----------
    spec : MaskSpec
        Family and coverage bounds.
    seed : int
        Global seed of the masks.

    The sample (a dict as yielded by :func:`facedata.shards.reader.iter_shard` or WebDataset
    with decoded fields) needs ``__key__`` and ``jpg`` (for the size); ``parsing.png`` is used
    as the label map when present (needed by ``part``; it adds eyes and hair to ``scfegan``),
    and the landmarks of its ``json`` metadata when present.
    The returned dict adds ``mask`` ((H, W) uint8, 1 = hole) and ``mask_coverage`` (float).

    Examples
    --------
    >>> import numpy as np
    >>> add = OnlineMasks(MaskSpec("gfc"))
    >>> s = {"__key__": "k", "jpg": np.zeros((32, 32, 3), np.uint8)}
    >>> first, second = add(s), add(s)
    >>> first["mask_coverage"], bool((first["mask"] != second["mask"]).any())
    (0.25, True)
    """

    def __init__(self, spec: MaskSpec, seed: int = 0):
        self.spec = spec
        self.seed = seed
        self._seen: dict[str, int] = {}

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        key = sample["__key__"]
        height, width = sample["jpg"].shape[:2]
        n = self._seen.get(key, 0)
        self._seen[key] = n + 1
        rng = sample_rng(self.seed, key, f"mask-online-{_base_seed()}", n)
        context = MaskContext.from_shard(sample)
        mask, info = self.spec.draw(rng, height, width, context)
        return {**sample, "mask": mask, "mask_coverage": info["coverage"]}
