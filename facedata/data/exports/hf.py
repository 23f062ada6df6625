"""Export a build as a Hugging Face dataset: parquet files ``datasets.load_dataset`` reads.

Layout: ``OUT/data/<split>-<i>-of-<n>.parquet`` (the Hub's naming, so ``load_dataset(OUT)``
finds every split), ``ROWS_PER_FILE`` samples per file, in manifest order. The column types
travel in each file's schema, so nothing is inferred from the first samples:

- ``jpg`` is the ``image`` column and every other image field an ``Image`` column named as the
  field with dots as underscores (``mask.png`` → ``mask_png``); the bytes are those of the
  shards, so single-channel PNGs stay mode ``"L"`` and label ids survive;
- every ``npy`` field is an ``ArrayND`` column of its dtype and shape (``hog_npy``);
- every top-level key of the metadata is a typed column (nested objects are structs), its type
  inferred by pyarrow over *all* samples of the build: a key that only some samples carry
  (a photo's ``conversion``, annotations' ``attributes``) is a column, null where absent.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ...errors import ConfigError, require
from ...io.atomic import atomic_path
from ...progress import progress_bar
from ...shards.codec import extension
from ...shards.derive import readable_fields
from ...shards.reader import iter_samples
from .common import chosen, open_build

#: Samples per parquet file (about 0.5 GB at 512² with the default maps).
ROWS_PER_FILE = 1000

Row = dict


def column_name(field: str) -> str:
    """The column of a shard field: ``jpg`` → ``image``, ``mask.png`` → ``mask_png``.

    >>> column_name("l_eye.sketch.png")
    'l_eye_sketch_png'
    """
    return "image" if field == "jpg" else field.replace(".", "_")


def image_value(data: bytes) -> dict:
    """An encoded image as an ``Image`` feature stores it (bytes unchanged, no path)."""
    return {"bytes": data, "path": None}


def write_parquet(
    build: str | os.PathLike,
    out: str | os.PathLike,
    *,
    splits: Sequence[str],
    counts: dict[str, int],
    features,
    row: Callable[[dict], Row],
    progress: bool = True,
) -> dict[str, int]:
    """Write ``row(sample)`` for every sample of ``splits`` as parquet under ``OUT/data``.

    ``sample`` is a shard sample with raw bytes and its ``json`` decoded. The folder appears
    only when complete.
    """

    ParquetWriter = require("datasets.arrow_writer", "hf").ParquetWriter

    written = dict.fromkeys(splits, 0)
    bar = progress_bar(
        total=sum(counts[s] for s in splits), unit="img", desc="export", show=progress
    )
    with atomic_path(out) as tmp, bar:
        (tmp / "data").mkdir(parents=True)
        for split in splits:
            n_files = max(1, math.ceil(counts[split] / ROWS_PER_FILE))
            samples = _samples(build, split)
            for i in range(n_files):
                path = tmp / "data" / f"{split}-{i:05d}-of-{n_files:05d}.parquet"
                writer = ParquetWriter(path=str(path), features=features)
                for _, sample in zip(range(ROWS_PER_FILE), samples):
                    writer.write(features.encode_example(row(sample)))
                    written[split] += 1
                    bar.update(1)
                writer.finalize()
                writer.close()
    return written


def _samples(build, split: str) -> Iterator[dict]:
    for sample in iter_samples(build, split, decoded=False):
        yield sample | {"json": json.loads(sample["json"])}


def _npy_feature(field: str, data: bytes):
    datasets = require("datasets", "hf")
    with io.BytesIO(data) as buf:
        np.lib.format.read_magic(buf)
        shape, _, dtype = np.lib.format.read_array_header_1_0(buf)
    kinds = {2: datasets.Array2D, 3: datasets.Array3D, 4: datasets.Array4D, 5: datasets.Array5D}
    if len(shape) not in kinds:
        raise ConfigError(
            f"{field} holds {len(shape)}-dimensional arrays; the hf export takes 2 to 5 "
            "dimensions: leave it out with --fields"
        )
    return kinds[len(shape)](shape=tuple(shape), dtype=str(dtype))


def hf_features(metas: Sequence[dict], firsts: dict[str, bytes], fields: Sequence[str]):
    """The ``datasets.Features`` of an export: its fields and the union of its metadata keys.

    Parameters
    ----------
    metas : sequence of dict
        The metadata (``json``) of every sample exported.
    firsts : dict
        Field → the bytes of its first occurrence (``npy`` shapes and dtypes are read there).
    fields : sequence of str
        The shard fields to export besides ``json``.

    Examples
    --------
    >>> hf_features([{"key": "a"}, {"key": "b", "pose": {"yaw": 1.5}}], {}, ["jpg"])
    {'key': Value('string'), 'pose': {'yaw': Value('float64')}, 'image': Image(...)}
    """
    import pyarrow as pa

    datasets = require("datasets", "hf")
    keys = sorted(set().union(*metas))
    columns = [(k, pa.array([m.get(k) for m in metas]).type) for k in keys]
    features = datasets.Features.from_arrow_schema(pa.schema(columns))
    for field in fields:
        name = column_name(field)
        if name in features:
            raise ConfigError(f"field {field} and metadata key {name} would share a column")
        if extension(field) == "npy" and field in firsts:
            features[name] = _npy_feature(field, firsts[field])
        else:
            features[name] = datasets.Image()
    return features


def export_hf(
    build: str | os.PathLike,
    out: str | os.PathLike,
    *,
    fields: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, int]:
    """Write a build as parquet files that ``datasets.load_dataset(OUT)`` reads, typed.

    Parameters
    ----------
    fields : sequence of str or None
        Shard fields to export besides the metadata (``None``: all).
    build, out, splits, overwrite, progress
        As :func:`~facedata.data.export_folders`; returns split → samples exported.

    Raises
    ------
    ConfigError
        When ``out`` exists, a split or field is not in the build, or an ``npy`` field has
        fewer than 2 or more than 5 dimensions.

    Examples
    --------
    >>> export_hf("shards/", "hf/")  # doctest: +SKIP
    >>> datasets.load_dataset("hf/")["train"][0]["mask_png"]  # doctest: +SKIP
    <PIL.PngImagePlugin.PngImageFile image mode=L size=512x512>
    """
    manifest, names = open_build(build, out, splits, overwrite)
    available = [f for f in readable_fields(manifest) if f != "json"]
    kept = chosen("field", None if fields is None else [f for f in fields if f != "json"],
                  available, build)  # fmt: skip
    # The metadata of every sample decides the columns: read it first (the images stay bytes).
    metas, firsts = [], {}
    for split in names:
        for sample in _samples(build, split):
            metas.append(sample["json"])
            firsts |= {f: sample[f] for f in kept if f in sample and f not in firsts}
    features = hf_features(metas, firsts, kept)

    def row(sample: dict) -> Row:
        values = dict(sample["json"])
        for field in kept:
            data = sample.get(field)
            if data is None:
                values[column_name(field)] = None
            elif extension(field) == "npy":
                values[column_name(field)] = np.load(io.BytesIO(data), allow_pickle=False)
            else:
                values[column_name(field)] = image_value(data)
        return values

    counts = {s: manifest["splits"][s]["count"] for s in names}
    return write_parquet(
        build, out, splits=names, counts=counts, features=features, row=row, progress=progress
    )
