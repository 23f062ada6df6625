"""Speed of the training side: ShardDataset samples/s and SC-FEGAN step time.

    python benchmarks/train.py --shards shards/ [--size 256 --batch 8 --cnum 64 --device auto]

Prints (1) samples/s of ``ShardDataset`` with the SC-FEGAN fields, resized to ``--size``, for
0 and ``--workers`` loader processes, and (2) seconds per training step (discriminator +
generator update), with and without the VGG losses (VGG with random weights of the real
shapes: the cost does not depend on the values).
"""

from __future__ import annotations

import argparse
import time
from itertools import islice

import torch
from torch.utils.data import DataLoader

from facedata.device import resolve_device
from facedata.train import TrainConfig, Trainer
from facedata.train.run import training_data
from facedata.train.vgg import VGGFeatures


def loader_rate(config: TrainConfig, workers: int, n: int) -> float:
    loader = DataLoader(training_data(config), batch_size=config.batch, num_workers=workers)
    batches = iter(loader)
    next(batches)  # worker start-up is not throughput
    t0 = time.perf_counter()
    count = sum(len(b["__key__"]) for b in islice(batches, max(1, n // config.batch)))
    return count / (time.perf_counter() - t0)


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
    args = parser.parse_args()
    device = resolve_device(args.device)
    config = TrainConfig(
        shards=args.shards, out="", size=args.size, batch=args.batch, cnum=args.cnum
    )
    print(f"device {device}, torch threads {torch.get_num_threads()}")
    for workers in sorted({0, args.workers}):
        rate = loader_rate(config, workers, args.samples)
        print(f"loader  {args.size}²  workers {workers}: {rate:8.1f} samples/s")
    for vgg in (False, True):
        seconds = step_time(config, device, vgg, args.steps)
        print(
            f"step    {args.size}²  batch {args.batch}  cnum {args.cnum}  vgg {vgg!s:5}: "
            f"{seconds:8.3f} s/step"
        )


if __name__ == "__main__":
    main()
