"""A training batch from facedata shards with plain WebDataset and a torch DataLoader.

    python examples/read_with_webdataset.py [SHARDS]

SHARDS is a finished build (the folder holding manifest.json); without it the demo is built at
64² into a temporary folder first. Only ``webdataset`` and ``torch`` read the shards here;
facedata's own ``ShardDataset`` (docs/data-loading.md) does the same with less code.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import webdataset as wds
from PIL import Image
from torch.utils.data import DataLoader


def single_channel(data: bytes) -> np.ndarray:
    """Decode a one-channel PNG as it is stored: (H, W) uint8, label ids kept.

    WebDataset's stock image decoders convert to RGB or scale to [0, 1]: fine for masks,
    wrong for label maps, whose pixel values are class ids.
    """
    return np.asarray(Image.open(io.BytesIO(data)))


def to_tensors(sample: dict) -> dict:
    """One decoded sample → the tensors an inpainting network takes."""
    image = torch.tensor(sample["jpg"]).permute(2, 0, 1).float() / 127.5 - 1
    return {
        "key": sample["__key__"],
        "image": image,  # (3, H, W) float32 in [-1, 1]
        "mask": torch.tensor(sample["mask.png"] > 0).float()[None],  # (1, H, W), 1 = hole
        "parsing": torch.tensor(sample["parsing.png"]).long(),  # (H, W) ids 0-18
        "coverage": sample["json"]["mask"]["coverage"],  # metadata: pick what you need
    }


def loader(shards: Path, *, batch_size: int = 8, workers: int = 0) -> DataLoader:
    manifest = json.loads((shards / "manifest.json").read_text())
    urls = [str(shards / s["path"]) for s in manifest["splits"]["train"]["shards"]]
    dataset = (
        wds.WebDataset(
            urls,
            shardshuffle=len(urls),  # shuffle the shard order (deterministic with seed)
            seed=0,
            nodesplitter=wds.split_by_node,  # each torch.distributed rank reads its shards
            workersplitter=wds.split_by_worker,  # each DataLoader worker reads its shards
            empty_check=False,  # a worker may get no shard of a small build
        )
        .shuffle(100, seed=0)  # sample buffer
        .decode(wds.handle_extension("mask.png parsing.png", single_channel), "rgb8")
        .map(to_tensors)
    )
    return DataLoader(dataset, batch_size=batch_size, num_workers=workers)


def main(shards: Path | None) -> None:
    if shards is None:
        from facedata.pipeline import BuildConfig, build
        from facedata.sources import SourceConfig

        shards = Path(tempfile.mkdtemp(prefix="facedata-")) / "shards"
        build(
            BuildConfig(out=str(shards), size=64, maps=("parsing", "mask"), progress=False),
            SourceConfig(name="demo"),
        )
    batch = next(iter(loader(shards)))
    for name, value in batch.items():
        if isinstance(value, torch.Tensor):
            print(f"{name:9} {tuple(value.shape)} {value.dtype} [{value.min()}, {value.max()}]")
    print(f"keys      {batch['key']}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
