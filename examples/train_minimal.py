"""Train SC-FEGAN for a few steps on the embedded demo faces (seconds on a CPU).

    python examples/train_minimal.py [OUT]

Builds the demo at 64² with the maps SC-FEGAN needs (sketch and colour included), reads the
shards with ``facedata.data.ShardDataset`` and runs the reference ``Trainer`` on them without
the VGG losses, then writes a sample grid (input | mask | sketch | colour | output | target).
``facedata train`` runs the same loop with checkpoints, logs and progress bars.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from facedata.data import ShardDataset
from facedata.pipeline import BuildConfig, build
from facedata.preview.grid import save_rgb
from facedata.sources import SourceConfig
from facedata.train import TrainConfig, Trainer, inpaint
from facedata.train.grid import sample_grid

STEPS = 20


def main(out: Path) -> None:
    shards = out / "shards"
    maps = ("parsing", "face", "hair", "mask", "sketch", "color")
    build(
        BuildConfig(out=str(shards), size=64, maps=maps, progress=False),
        SourceConfig(name="demo"),
        overwrite=True,
    )

    # The loader any trainer can use: tensors in [-1, 1] (image, color) and {0, 1} (mask, sketch).
    fields = ("jpg", "mask.png", "sketch.png", "color.png")
    data = ShardDataset(shards, split="train", fields=fields, repeat=True)
    loader = DataLoader(data, batch_size=4)

    config = TrainConfig(shards=str(shards), out=str(out), size=64, cnum=16, use_vgg=False)
    trainer = Trainer(config, torch.device("cpu"), vgg=None)
    for step, batch in zip(range(1, STEPS + 1), loader):
        losses = trainer.step(batch)
        if step % 5 == 0:
            print(f"step {step}: " + ", ".join(f"{k} {float(v):.3f}" for k, v in losses.items()))

    with torch.no_grad():
        noise = torch.randn(batch["mask"].shape)
        output = inpaint(trainer.generator, batch["image"], batch["mask"], batch["sketch"],
                         batch["color"], noise)  # fmt: skip
    grid = sample_grid(batch["image"], batch["mask"], batch["sketch"], batch["color"], output)
    save_rgb(out / "grid.png", grid)
    print(f"wrote {out / 'grid.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="facedata-")))
