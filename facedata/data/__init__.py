"""Reading facedata shards in a training job: a torch dataset and a folder export.

>>> from facedata.data import ShardDataset  # doctest: +SKIP
>>> ds = ShardDataset("shards/", split="train", fields=("jpg", "mask.png"), size=256)
>>> loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=4)
"""

from __future__ import annotations

from .convert import FIELDS, binary_array, hog_array, label_array, rgb_array, to_arrays
from .dataset import ShardDataset, check_fields, shard_urls
from .export import export_folders

__all__ = [
    "FIELDS",
    "ShardDataset",
    "binary_array",
    "check_fields",
    "export_folders",
    "hog_array",
    "label_array",
    "rgb_array",
    "shard_urls",
    "to_arrays",
]
