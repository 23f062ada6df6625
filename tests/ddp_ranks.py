"""Rank processes for the distributed tests: spawned by torch.multiprocessing, one per rank."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from facedata.shards.writer import ShardWriter


def write_build(out: Path, counts: list[int]) -> list[str]:
    """A minimal build: train shards of the given sample counts and their manifest."""
    shards, keys = [], []
    for s, count in enumerate(counts):
        with ShardWriter(out / "train" / f"train-{s:06d}.tar") as w:
            for i in range(count):
                key = f"s{s}-{i:03d}"
                w.write(key, {"jpg": np.full((8, 8, 3), 10 * s + i, np.uint8)})
                keys.append(key)
        shards.append(
            {"path": f"train/train-{s:06d}.tar", "count": w.count, "bytes": w.nbytes,
             "sha256": w.sha256}
        )  # fmt: skip
    manifest = {"maps": [], "splits": {"train": {"count": len(keys), "shards": shards}}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    return keys


def keys_of(loader, limit=None) -> list[str]:
    keys = []
    for item in loader:
        keys.append(item["__key__"])
        if limit is not None and len(keys) == limit:
            break
    return keys


def read_as_rank(rank: int, world_size: int, root: str) -> None:
    """Join a gloo group and record what this rank's DataLoader (2 workers) reads."""
    from facedata.data import ShardDataset

    root = Path(root)
    dist.init_process_group(
        "gloo", init_method=f"file://{root / 'rendezvous'}", rank=rank, world_size=world_size
    )
    seen = {}
    # A spawned process spawns its DataLoader workers too (each imports torch again: slow);
    # one case does, the others fork them.
    for name, build, options, start in [
        ("many shards", "many", {}, "fork"),
        ("many shards, spawned workers", "many", {}, "spawn"),
        ("few shards", "few", {}, "fork"),
        ("equal length", "many", {"epoch_length": 20}, "fork"),
        ("few shards, repeat", "few", {"repeat": True}, "fork"),
    ]:
        ds = ShardDataset(root / build, split="train", fields=("jpg",), shuffle=50, seed=3,
                          **options)  # fmt: skip
        limit = 30 if options.get("repeat") else None
        loader = DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context=start)
        seen[name] = keys_of(loader, limit)
        assert (ds.rank, ds.world_size) == (rank, world_size)
    seen["gradients"] = averaged_gradients(rank, world_size)
    # Every rank must reach this point: no rank is left waiting for a hung one.
    dist.barrier()
    (root / f"rank{rank}.json").write_text(json.dumps(seen))
    dist.destroy_process_group()


def batch_and_model():
    """A fixed batch of 8 and a small network, the same in every process."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 3, 6, 6, generator=gen), torch.randn(8, 4, 6, 6, generator=gen)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Conv2d(5, 4, 1))  # fmt: skip
    return x, y, model


def gradients(model, x, y) -> list[list[float]]:
    model.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()
    return [p.grad.flatten().tolist() for p in model.parameters()]


def averaged_gradients(rank: int, world_size: int) -> list[list[float]]:
    """Gradients of this rank's half of the batch, averaged over the ranks."""
    from facedata.train.distributed import average_gradients

    x, y, model = batch_and_model()
    half = slice(4 * rank, 4 * rank + 4)
    gradients(model, x[half], y[half])
    average_gradients(model, world_size)
    return [p.grad.flatten().tolist() for p in model.parameters()]
