"""Export a build in the folder layout LaMa's configs read (github.com/advimman/lama).

::

    OUT/train/<stem>.jpg                  the train split: LaMa's training set globs
                                          ``indir/**/*.jpg`` and draws its own masks
    OUT/val/<stem>.png                    the val split: LaMa's evaluation set (``img_suffix:
    OUT/val/<stem>_mask000.png            .png``) takes every ``*mask*.png`` and finds its
                                          image by cutting the name at the last ``_mask``
    OUT/eval/...                          the test split, as val (``bin/predict.py indir=``)
    OUT/location.yaml                     a Hydra ``location`` config naming OUT

The masks are the build's own (``mask.png``, 255 = hole, as LaMa reads them: ``/ 255``), one
``_mask{k:03d}`` file per mask with ``--masks-per-sample K``, so every model is evaluated on
the same holes. Training images are the shards' JPEG bytes unchanged; evaluation images are
decoded once and written as PNG, the suffix LaMa's configs expect. A stem is the sample key,
with ``mask`` written ``MASK`` so LaMa's ``*mask*`` pattern never takes an image for a mask.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...errors import ConfigError
from ...io.atomic import atomic_path
from ...masks.sampling import unpack_masks
from ...progress import progress_bar
from ...shards.codec import decode, encode
from ...shards.reader import iter_shard, shard_paths
from .common import open_build

#: facedata split → LaMa folder; other splits keep their name, laid out as ``val``.
FOLDERS = {"train": "train", "val": "val", "test": "eval"}

LOCATION = """# @package _group_
# LaMa location config for a facedata export: copy to lama/configs/training/location/ and
# train with location=<this file's name>; set pretrained_models to LaMa's models folder.
data_root_dir: {root}/
out_root_dir: {root}/experiments/
tb_dir: {root}/tb_logs/
pretrained_models: {root}/
"""


def lama_stem(key: str) -> str:
    """A sample key as a LaMa file stem: never contains ``mask``.

    >>> lama_stem("img_mask_01")
    'img_MASK_01'
    """
    return key.replace("mask", "MASK")


def sample_masks(sample: dict, size: int) -> list[np.ndarray]:
    """A shard sample's masks as 0/255 arrays: every mask of ``masks.npy``, else ``mask.png``."""
    if "masks.npy" in sample:
        packed = decode("masks.npy", sample["masks.npy"])
        return [m * np.uint8(255) for m in unpack_masks(packed, size)]
    return [decode("mask.png", sample["mask.png"])]


def export_lama(
    build: str | os.PathLike,
    out: str | os.PathLike,
    *,
    splits: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, int]:
    """Write a build as LaMa's ``train/``, ``val/`` and ``eval/`` folders.

    Parameters
    ----------
    build, out, splits, overwrite, progress
        As :func:`~facedata.data.export_folders`; returns split → samples exported.

    Raises
    ------
    ConfigError
        When ``out`` exists, a split is not in the build, or an evaluation split is asked
        for from a build without masks.
    """

    manifest, names = open_build(build, out, splits, overwrite)
    has_masks = {"mask.png", "masks.npy"} & set(manifest["fields"])
    if not has_masks and any(s != "train" for s in names):
        raise ConfigError(
            f"{build} has no masks, which LaMa's val and eval folders need: rebuild with "
            "mask in --maps, or export --splits train"
        )
    size = manifest["build"]["size"]
    counts = dict.fromkeys(names, 0)
    root = Path(out).resolve()
    total = sum(manifest["splits"][s]["count"] for s in names)
    bar = progress_bar(total=total, unit="img", desc="export", show=progress)
    with atomic_path(out) as tmp, bar:
        for split in names:
            folder = tmp / FOLDERS.get(split, split)
            folder.mkdir(parents=True)
            for shard in shard_paths(build, split):
                for sample in iter_shard(shard, decoded=False):
                    stem = lama_stem(sample["__key__"])
                    if split == "train":
                        (folder / f"{stem}.jpg").write_bytes(sample["jpg"])
                    else:
                        image = encode("image.png", decode("jpg", sample["jpg"]))
                        (folder / f"{stem}.png").write_bytes(image)
                        for k, mask in enumerate(sample_masks(sample, size)):
                            (folder / f"{stem}_mask{k:03d}.png").write_bytes(encode("m.png", mask))
                    counts[split] += 1
                    bar.update(1)
        (tmp / "location.yaml").write_text(LOCATION.format(root=root))
    return counts
