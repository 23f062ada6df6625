"""Export a build for diffusers' ControlNet training script (``train_controlnet.py``).

The script reads a dataset with ``load_dataset(--train_data_dir or --dataset_name)`` and
takes its ``train`` split's columns ``image`` (the target), ``text`` (the caption) and
``conditioning_image`` (its defaults for ``--image_column``, ``--caption_column`` and
``--conditioning_image_column``), in that order, which is also the order it falls back on
when those flags are empty. This export writes exactly those columns, plus ``key``, as
parquet files (see :mod:`facedata.data.exports.hf`):

- ``conditioning_image`` is one map of the build, its PNG bytes unchanged (``sketch.png``:
  white lines on black, as ControlNet's scribble and HED models take them), except
  ``parsing.png``, which is drawn in CelebAMask-HQ's official palette (class ids 0–18 are all
  but black in a grey-level image);
- ``text`` is :func:`~facedata.data.exports.captions.caption` of the CelebA attributes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ...errors import ConfigError, require
from ...labels import colorize
from ...shards.codec import decode, encode
from ...shards.derive import readable_fields
from .captions import caption
from .common import open_build
from .hf import Row, image_value, write_parquet

#: The map used as the conditioning image when none is chosen.
DEFAULT_CONDITIONING = "sketch.png"


def conditioning_png(field: str, data: bytes) -> bytes:
    """The conditioning image of one field's PNG bytes: parsing in the palette, else as is.

    >>> import numpy as np
    >>> png = encode("parsing.png", np.array([[0, 1], [17, 18]], np.uint8))
    >>> decode("c.png", conditioning_png("parsing.png", png))[1, 0].tolist()  # hat
    [255, 153, 51]
    """
    if field == "parsing.png":
        return encode("conditioning.png", colorize(decode(field, data)))
    return data


def export_controlnet(
    build: str | os.PathLike,
    out: str | os.PathLike,
    *,
    conditioning: str = DEFAULT_CONDITIONING,
    splits: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, int]:
    """Write ``image``, ``text`` and ``conditioning_image`` columns for ControlNet training.

    Parameters
    ----------
    conditioning : str
        The image field to condition on: ``sketch.png`` (HED or XDoG lines, see the
        metadata's ``maps.sketch``), ``parsing.png`` (in the official palette),
        ``hog.png``, ``color.png``, ``face.png``, ...
    build, out, splits, overwrite, progress
        As :func:`~facedata.data.export_folders` (the script trains on ``train``); returns
        split → samples exported. Give ``out`` to the script as ``--train_data_dir``.

    Raises
    ------
    ConfigError
        When ``out`` exists, a split is not in the build, or ``conditioning`` is not one of
        its image fields.
    """
    datasets = require("datasets", "hf")
    manifest, names = open_build(build, out, splits, overwrite)
    images = [f for f in readable_fields(manifest) if f.endswith(".png")]
    if conditioning not in images:
        raise ConfigError(
            f"--conditioning {conditioning} is not an image field of {build}; "
            f"choose one of {', '.join(images)}"
        )
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "text": datasets.Value("string"),
            "conditioning_image": datasets.Image(),
            "key": datasets.Value("string"),
        }
    )

    def row(sample: dict) -> Row:
        return {
            "image": image_value(sample["jpg"]),
            "text": caption(sample["json"].get("attributes")),
            "conditioning_image": image_value(conditioning_png(conditioning, sample[conditioning])),
            "key": sample["__key__"],
        }

    counts = {s: manifest["splits"][s]["count"] for s in names}
    return write_parquet(
        build, out, splits=names, counts=counts, features=features, row=row, progress=progress
    )
