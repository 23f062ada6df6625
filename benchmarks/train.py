"""Speed of the training side: ShardDataset samples/s and SC-FEGAN step time.

    python benchmarks/train.py --shards shards/ [--size 256 --batch 8 --cnum 64 --device auto]
                               [--ranks 2]

Prints (1) raw read speed of the split's tars: facedata's strict reader (tar structure, count
and sha256 checked) against WebDataset's ``tarfile_samples``, in MB/s; (2) samples/s of
``ShardDataset`` with the SC-FEGAN fields, resized to ``--size``, for 0 and ``--workers``
loader processes, and with ``--ranks R`` the same on R gloo ranks spawned at once, each
reading its own part (per rank and summed); (3) seconds per training step (discriminator +
generator update), with and without the VGG losses (VGG with random weights of the real
shapes: the cost does not depend on the values).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from itertools import islice
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader

from facedata.data import shard_urls
from facedata.device import resolve_device
from facedata.shards.reader import iter_shard
from facedata.train import TrainConfig, Trainer
from facedata.train.run import training_data
from facedata.train.vgg import VGGFeatures


def read_rates(urls: list[str]) -> tuple[float, float]:
    """MB/s of reading every member's bytes: facedata's strict reader, then WebDataset's."""
    import webdataset as wds

    megabytes = sum(os.path.getsize(u) for u in urls) / 1e6
    t0 = time.perf_counter()
    for url in urls:
        for _ in iter_shard(url, decoded=False):
            pass
    strict = megabytes / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in wds.tarfile_samples({"url": u} for u in urls):
        pass
    return strict, megabytes / (time.perf_counter() - t0)


def loader_rate(config: TrainConfig, workers: int, n: int) -> float:
    loader = DataLoader(training_data(config), batch_size=config.batch, num_workers=workers)
    batches = iter(loader)
    next(batches)  # worker start-up is not throughput
    t0 = time.perf_counter()
    count = sum(len(b["__key__"]) for b in islice(batches, max(1, n // config.batch)))
    return count / (time.perf_counter() - t0)


def _rank_rate(rank: int, ranks: int, config: TrainConfig, workers: int, n: int, out: str):
    rendezvous = f"file://{Path(out) / 'rendezvous'}"
    dist.init_process_group("gloo", init_method=rendezvous, rank=rank, world_size=ranks)
    rate = loader_rate(config, workers, n)
    (Path(out) / f"rank{rank}").write_text(str(rate))
    dist.destroy_process_group()


def ranks_rates(config: TrainConfig, ranks: int, workers: int, n: int) -> list[float]:
    """Samples/s of each of ``ranks`` gloo processes reading their parts at once."""
    with tempfile.TemporaryDirectory() as out:
        mp.spawn(_rank_rate, args=(ranks, config, workers, n, out), nprocs=ranks)
        return [float((Path(out) / f"rank{r}").read_text()) for r in range(ranks)]


def step_time(config: TrainConfig, device: torch.device, vgg: bool, steps: int) -> float:
    trainer = Trainer(config, device, VGGFeatures().to(device) if vgg else None)
    batch = next(iter(DataLoader(training_data(config), batch_size=config.batch)))
    trainer.step(batch)  # warm-up: allocations, kernel selection
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step(batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", required=True)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--cnum", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--ranks", type=int, default=1, help="also read on this many ranks")
    args = parser.parse_args()
    device = resolve_device(args.device)
    config = TrainConfig(
        shards=args.shards, out="", size=args.size, batch=args.batch, cnum=args.cnum
    )
    print(f"device {device}, torch threads {torch.get_num_threads()}")
    strict, plain = read_rates(shard_urls(args.shards, config.split))
    print(f"read    strict {strict:8.1f} MB/s, webdataset {plain:8.1f} MB/s: {strict / plain:.2f}×")
    for workers in sorted({0, args.workers}):
        rate = loader_rate(config, workers, args.samples)
        print(f"loader  {args.size}²  workers {workers}: {rate:8.1f} samples/s")
        if args.ranks > 1:
            rates = ranks_rates(config, args.ranks, workers, args.samples // args.ranks)
            each = ", ".join(f"{r:.1f}" for r in rates)
            print(
                f"loader  {args.size}²  workers {workers} on {args.ranks} ranks: {each} "
                f"samples/s, {sum(rates):.1f} in all ({sum(rates) / rate:.2f}× one process)"
            )
    for vgg in (False, True):
        seconds = step_time(config, device, vgg, args.steps)
        print(
            f"step    {args.size}²  batch {args.batch}  cnum {args.cnum}  vgg {vgg!s:5}: "
            f"{seconds:8.3f} s/step"
        )


if __name__ == "__main__":
    main()
