"""``ShardDataset``: facedata shards as a torch ``IterableDataset`` for any trainer.

Shards are split over ``torch.distributed`` ranks and ``DataLoader`` workers so that each sample
is read once per epoch (:mod:`facedata.data.distributed`), read strictly
(:func:`facedata.shards.reader.iter_shard`), shuffled through a buffer, decoded with facedata's
own codecs (which keep single-channel PNGs single-channel) and converted by
:mod:`facedata.data.convert`.

Everything random is reproducible: the shard order depends on (seed, epoch), the shuffle
buffer on (seed, epoch, rank, worker); a fresh mask depends on (seed, sample key, epoch) only,
so it is the same whichever worker reads the sample.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset

from ..errors import ConfigError, CorruptShardError, MissingDataError
from ..masks import MaskContext, MaskSpec
from ..seeding import sample_rng
from ..shards.codec import decode
from ..shards.derive import Deriver
from ..shards.fields import specs_for_shards
from ..shards.reader import (
    MANIFEST,
    Handler,
    build_of,
    iter_shard,
    make_handler,
    manifest_entries,
    shard_paths,
)
from .convert import tensor_spec, to_arrays
from .distributed import Share, SharedInt, node_info, slot_share

MASK_MODES = ("stored", "fresh")


def shard_urls(source: str | os.PathLike | Sequence[str], split: str | None = None) -> list[str]:
    """Resolve what a user points at into a list of shard URLs.

    Parameters
    ----------
    source : str, path or sequence of str
        A finished build (folder with ``manifest.json``), a folder of ``*.tar`` (e.g. one split
        of a build), one ``.tar`` file, a WebDataset brace pattern (``shards/train-{000000..000009}
        .tar``) or URL, or a list of any of those files/URLs.
    split : str or None
        With a build folder, only this split's shards (``None``: every split).

    Raises
    ------
    MissingDataError
        When nothing is found.
    """
    if not isinstance(source, (str, os.PathLike)):
        if not source:
            raise MissingDataError("no shards given: the list of shard files is empty")
        return [str(s) for s in source]
    text = str(source)
    path = Path(source)
    if (path / MANIFEST).is_file():
        urls = [str(p) for p in shard_paths(path, split)]
        if not urls:
            raise MissingDataError(f"the build in {path} has no shards of split {split!r}")
        return urls
    if path.is_dir():
        urls = sorted(str(p) for p in path.glob("*.tar"))
        if not urls:
            raise MissingDataError(
                f"{path} holds neither a manifest.json nor *.tar shards; point at a facedata "
                "build (facedata build --out DIR) or one of its split folders"
            )
        return urls
    if path.is_file() or "{" in text or "://" in text or text.startswith("pipe:"):
        import webdataset as wds

        return list(wds.shardlists.expand_urls(text))
    raise MissingDataError(f"{source} does not exist (expected a build folder or shards)")


def check_fields(urls: Sequence[str], fields: Sequence[str], derived: Sequence[str] = ()) -> None:
    """Fail early, naming the maps to rebuild with, when the first shard lacks a field.

    Only a local first shard is checked (reading a remote one here would cost a download);
    ``derived`` fields are computed by the reader, so they need not be stored.

    Raises
    ------
    MissingDataError
    """
    first = Path(urls[0])
    if not first.is_file():
        return
    sample = next(iter_shard(first, decoded=False), None)
    if sample is None:
        return
    missing = [f for f in fields if f not in sample and f not in derived]
    if not missing:
        return
    manifest = first.parent.parent / MANIFEST
    built = json.loads(manifest.read_text()).get("maps", []) if manifest.is_file() else []
    # Map names are the field names without extension (mask → mask.png, sketch → sketch.png).
    maps = list(dict.fromkeys([*built, *(f.split(".")[0] for f in missing)]))
    present = sorted(k for k in sample if k != "__key__")
    raise MissingDataError(
        f"{first} has no {', '.join(missing)} (its samples have {', '.join(present)}); rebuild "
        f"the shards with those maps: facedata build --src SRC --out DIR --maps {','.join(maps)}"
        " --overwrite"
    )


def _seed_int(*words: int) -> int:
    return int(np.random.SeedSequence([w & 0xFFFFFFFF for w in words]).generate_state(1)[0])


class ShardDataset(IterableDataset):
    """facedata shards as tensors in network conventions (see :mod:`facedata.data.convert`).

    Each item is a dict: ``__key__`` (str) and one tensor per requested field, named
    ``image`` (``jpg``), ``mask``, ``sketch``, ``color``, ``face``, ``hair``, ``parsing``,
    ``hog``. Images and colour maps are (3, H, W) in [-1, 1]; masks, sketches, face and hair
    maps (1, H, W) in {0, 1} (mask 1 = hole, sketch 1 = line); parsing (H, W) int64; hog
    (bins, H/c, W/c) float32.

    Under ``torch.distributed`` (make the dataset after ``init_process_group``, or under
    ``torchrun``) each rank reads its own part; see :mod:`facedata.data.distributed` and
    ``docs/data-loading.md``.

    Parameters
    ----------
    urls_or_dir : str, path or sequence of str
        See :func:`shard_urls`.
    fields : sequence of str
        Shard fields to return.
    size : int or None
        Resize every image-like field to ``size`` x ``size`` (``None``: as stored).
    masks : {"stored", "fresh"}
        ``stored``: ``mask`` comes from ``mask.png`` when it is among ``fields``. ``fresh``:
        every item gets a newly drawn ``mask`` (:meth:`facedata.masks.MaskSpec.draw`), using the
        sample's label map (``parsing.png``) and landmarks (metadata ``landmarks``) when the
        shards have them; ``mask.png`` is then not read.
    mask_kind : str or MaskSpec
        Family of fresh masks, or a :class:`~facedata.masks.MaskSpec` with coverage bounds.
    split : str or None
        With a build folder, read only this split.
    shuffle : int
        Shuffle buffer size in samples (0 or 1: stream order; shards are then not shuffled).
    repeat : bool
        Start over at the end, forever, with the next epoch's order and masks (for training).
    seed : int
        Seed of the shard order, the shuffle buffer and fresh masks.
    epoch : int
        First epoch (see :meth:`set_epoch`).
    rank, world_size : int or None
        This process's rank and the number of ranks; ``None``: from the initialised process
        group, else ``RANK``/``WORLD_SIZE``, else a single process.
    epoch_length : int or None
        ``None``: each sample once per epoch, so ranks may get a shard's worth more or fewer
        samples than each other. A number: every rank gets exactly that many samples per
        epoch (its share is cut short, or read again from the start), so a DDP job ends
        its epochs together; a sample may then be seen twice or not at all in one epoch.
    handler : {"raise", "warn", "skip"} or callable
        What a corrupt shard or sample does (see :func:`facedata.shards.reader.make_handler`):
        raise :class:`~facedata.errors.CorruptShardError`, or skip it (counted in
        :attr:`skipped`), with a warning for ``warn``.

    Examples
    --------
    >>> from torch.utils.data import DataLoader  # doctest: +SKIP
    >>> ds = ShardDataset("shards/", split="train", fields=("jpg", "sketch.png"), size=256,
    ...                   masks="fresh", repeat=True)
    >>> batch = next(iter(DataLoader(ds, batch_size=8, num_workers=4)))
    >>> batch["image"].shape, batch["mask"].shape
    (torch.Size([8, 3, 256, 256]), torch.Size([8, 1, 256, 256]))
    """

    def __init__(
        self,
        urls_or_dir: str | os.PathLike | Sequence[str],
        *,
        fields: Sequence[str] = ("jpg", "mask.png"),
        size: int | None = None,
        masks: str = "stored",
        mask_kind: str | MaskSpec = "scfegan",
        split: str | None = None,
        shuffle: int = 1000,
        repeat: bool = False,
        seed: int = 0,
        epoch: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        epoch_length: int | None = None,
        handler: str | Handler = "raise",
    ):
        super().__init__()
        if masks not in MASK_MODES:
            raise ConfigError(f"masks={masks!r}; choose one of {', '.join(MASK_MODES)}")
        if size is not None and size < 1:
            raise ConfigError(f"size must be a positive number of pixels, got {size}")
        if epoch_length is not None and epoch_length < 1:
            raise ConfigError(f"epoch_length must be a positive sample count, got {epoch_length}")
        make_handler(handler)  # an unknown policy fails here, not in a worker
        self.fields = tuple(f for f in fields if not (masks == "fresh" and f == "mask.png"))
        self.urls = shard_urls(urls_or_dir, split)
        # The build's own field specs (plugin fields included) say how each field converts.
        self.specs = specs_for_shards(self.urls)
        for field in self.fields:
            tensor_spec(field, self.specs)
        # Fields the build left out (--no-store-derived) are computed from their sources.
        self.deriver = Deriver.of_shards(self.urls)
        check_fields(self.urls, self.fields, derived=self.deriver.fields)
        self.entries = _manifest_entries(self.urls)
        self.rank, self.world_size = node_info(rank, world_size)
        known = [e["count"] for e in self.entries if e is not None]
        if len(known) == len(self.urls) and sum(known) < self.world_size:
            raise MissingDataError(
                f"{urls_or_dir} holds {sum(known)} samples, fewer than the {self.world_size} "
                "ranks reading it: every rank needs at least one"
            )
        self.size = size
        self.masks = masks
        # MaskSpec checks the family name, so a typo fails here, not in a worker.
        self.mask_spec = mask_kind if isinstance(mask_kind, MaskSpec) else MaskSpec(mask_kind)
        self.shuffle = shuffle
        self.repeat = repeat
        self.seed = seed
        self.epoch_length = epoch_length
        self.handler = handler
        self._epoch = SharedInt(epoch)
        self._skipped = SharedInt(0)

    @property
    def epoch(self) -> int:
        """The epoch the next iteration starts at."""
        return self._epoch.value

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch the next iteration starts at.

        Call it before iterating the DataLoader for that epoch. It reaches the workers, also
        persistent ones (``persistent_workers=True``), which read it each time the loader is
        iterated.
        """
        self._epoch.value = epoch

    @property
    def skipped(self) -> int:
        """Corrupt samples and shards skipped so far, by every worker (``handler`` not raise)."""
        return self._skipped.value

    def _handle(self, exc: CorruptShardError) -> None:
        make_handler(self.handler)(exc)
        self._skipped.add()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch = self.epoch
        while True:
            empty = True
            for item in self._epoch_items(epoch, worker, workers):
                empty = False
                yield item
            # A worker with nothing to read ends at once, even when repeating.
            if empty or not self.repeat:
                return
            epoch += 1

    def _epoch_items(self, epoch: int, worker: int, workers: int) -> Iterator[dict[str, Any]]:
        import webdataset as wds

        order = list(range(len(self.urls)))
        if self.shuffle > 1:
            # Same permutation on every rank and worker, so the split stays a partition.
            random.Random(_seed_int(self.seed, epoch)).shuffle(order)
        weights = [(self.entries[i] or {}).get("count", 1) for i in order]
        share = slot_share(
            weights, rank=self.rank, world_size=self.world_size, worker=worker,
            num_workers=workers,
        )  # fmt: skip
        shards = [order[i] for i in share.shards]
        stream = self._raw(shards, share)
        quota = None
        if self.epoch_length is not None:
            quota = self.epoch_length // workers + (worker < self.epoch_length % workers)
            stream = _cycle(lambda: self._raw(shards, share), self.rank, worker)
        if self.shuffle > 1:
            rng = random.Random(_seed_int(self.seed, epoch, self.rank, worker))
            stream = wds.shuffle(self.shuffle, min(100, self.shuffle), rng=rng)(stream)
        count = 0
        for raw in stream:
            if quota is not None and count >= quota:
                return
            try:
                item = self.item(raw, epoch)
            except CorruptShardError as exc:
                self._handle(exc)
                continue
            count += 1
            yield item

    def _raw(self, shards: list[int], share: Share) -> Iterator[dict[str, Any]]:
        """The raw samples of a share, each with its ``__url__``."""
        index = 0
        for s in shards:
            url = self.urls[s]
            for raw in iter_shard(
                url, decoded=False, handler=self._handle, expected=self.entries[s]
            ):
                if index % share.stride == share.offset:
                    raw["__url__"] = url
                    yield raw
                index += 1
        if share.stride > 1 and index <= self.rank:
            raise MissingDataError(
                f"the shards hold {index} samples, fewer than the {self.world_size} ranks "
                "reading them: every rank needs at least one"
            )

    def item(self, raw: dict[str, Any], epoch: int = 0) -> dict[str, Any]:
        """Turn one raw sample (field → bytes, as ``iter_shard(decoded=False)`` yields it)
        into the documented tensors."""
        key = raw["__key__"]
        where = f"sample {key!r} of {raw.get('__url__', '?')}"
        needed = list(self.fields)
        if self.masks == "fresh":
            # The mask is drawn at the image's size with its label map and landmarks if stored.
            needed += ["jpg", *(f for f in ("parsing.png", "json") if f in raw)]
        derived = [f for f in needed if f not in raw and f in self.deriver.fields]
        decoded = {}
        for field in dict.fromkeys([*needed, *self.deriver.sources(derived)]):
            if field in derived:
                continue
            if field not in raw:
                raise MissingDataError(f"{where} has no {field} field")
            try:
                decoded[field] = decode(field, raw[field])
            except CorruptShardError as exc:
                raise CorruptShardError(f"{where}: {exc}") from exc
        try:
            decoded = self.deriver(decoded | {"__key__": key}, wanted=derived)
        except CorruptShardError as exc:
            raise CorruptShardError(f"{where}: {exc}") from exc
        arrays = to_arrays({f: decoded[f] for f in self.fields}, self.size, self.specs)
        item: dict[str, Any] = {"__key__": key}
        item.update((name, torch.from_numpy(a)) for name, a in arrays.items())
        if self.masks == "fresh":
            item["mask"] = torch.from_numpy(self._fresh_mask(key, decoded, epoch))
        return item

    def _fresh_mask(self, key: str, decoded: dict[str, Any], epoch: int) -> np.ndarray:
        side = self.size or decoded["jpg"].shape[0]
        context = MaskContext.from_shard(decoded, side)
        rng = sample_rng(self.seed, key, "train-mask", epoch)
        mask, _ = self.mask_spec.draw(rng, side, side, context)
        return mask[None].astype(np.float32)


def _cycle(
    share: Callable[[], Iterator[dict[str, Any]]], rank: int, worker: int
) -> Iterator[dict[str, Any]]:
    """A share read again and again (for ``epoch_length``); an empty share is an error."""
    while True:
        empty = True
        for raw in share():
            empty = False
            yield raw
        if empty:
            raise MissingDataError(
                f"DataLoader worker {worker} of rank {rank} has no samples to fill its "
                "epoch_length; use fewer workers"
            )


def _manifest_entries(urls: Sequence[str]) -> list[dict | None]:
    """Each shard's manifest entry (``None`` outside a build), reading each manifest once."""
    builds: dict[Path, dict[str, dict]] = {}
    entries = []
    for url in urls:
        build = build_of(url)
        if build is not None and build not in builds:
            builds[build] = manifest_entries(build)
        entries.append(builds[build].get(str(Path(url).resolve())) if build else None)
    return entries
