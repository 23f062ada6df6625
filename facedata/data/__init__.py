"""Reading facedata shards in a training job: a torch dataset and a folder export.

>>> from facedata.data import ShardDataset  # doctest: +SKIP
>>> ds = ShardDataset("shards/", split="train", fields=("jpg", "mask.png"), size=256)
>>> loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=4)
"""

from __future__ import annotations

from .convert import (
    CONVERSIONS,
    binary_array,
    gray_array,
    hog_array,
    label_array,
    lines_array,
    rgb_array,
    to_arrays,
)
from .dataset import ShardDataset, check_fields, shard_urls
from .export import export_folders

__all__ = [
    "CONVERSIONS",
    "ShardDataset",
    "binary_array",
    "check_fields",
    "export_folders",
    "gray_array",
    "hog_array",
    "label_array",
    "lines_array",
    "rgb_array",
    "shard_urls",
    "to_arrays",
]
