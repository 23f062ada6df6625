"""facedata shards through Hugging Face ``datasets.load_dataset("webdataset", ...)``.

    python examples/read_with_hf_datasets.py [SHARDS]

SHARDS is a finished build (the folder holding manifest.json); without it the demo is built at
64² into a temporary folder first. Needs ``pip install datasets``.

``datasets`` infers the column types from the first samples of one shard, so every
sample must carry the same fields: a facedata build guarantees that (the manifest's
``fields``). Image fields become ``PIL.Image`` columns (one-channel PNGs stay mode "L", so
label ids survive), ``npy`` fields nested lists, and ``json`` a struct column whose keys are
those of the first samples (keys only later samples have are dropped: see docs/shards.md).
``facedata export SHARDS --format hf --out DIR`` writes a dataset typed over every sample
instead, each metadata key its own column: ``datasets.load_dataset(DIR)``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np


def load(shards: Path, cache_dir: str | None = None):
    """A ``DatasetDict`` with one split per split of the build."""
    import datasets

    manifest = json.loads((shards / "manifest.json").read_text())
    data_files = {
        split: [str(shards / s["path"]) for s in info["shards"]]
        for split, info in manifest["splits"].items()
    }
    return datasets.load_dataset("webdataset", data_files=data_files, cache_dir=cache_dir)


def main(shards: Path | None) -> None:
    if shards is None:
        from facedata.pipeline import BuildConfig, build
        from facedata.sources import SourceConfig

        shards = Path(tempfile.mkdtemp(prefix="facedata-")) / "shards"
        build(
            BuildConfig(out=str(shards), size=64, maps=("parsing", "mask"), progress=False),
            SourceConfig(name="demo"),
        )
    data = load(shards)
    print(data)
    first = data["train"][0]
    parsing = np.asarray(first["parsing.png"])
    print(f"{first['__key__']}: jpg {first['jpg'].size} {first['jpg'].mode}, parsing.png "
          f"{parsing.shape} {parsing.dtype} ids {sorted(np.unique(parsing).tolist())}")  # fmt: skip
    print(f"mask coverage {first['json']['mask']['coverage']}, split {first['json']['split']}")

    # Torch tensors for training: decode images to arrays, then ask for torch format.
    train = (
        data["train"]
        .map(
            lambda s: {"image": np.asarray(s["jpg"]), "mask": np.asarray(s["mask.png"]) > 0},
            remove_columns=data["train"].column_names,
        )
        .with_format("torch")
    )
    print(f"torch: image {tuple(train[0]['image'].shape)}, mask {tuple(train[0]['mask'].shape)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
