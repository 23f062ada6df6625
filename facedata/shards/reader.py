"""Reading shards back with the standard library alone (no WebDataset needed)."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import CorruptShardError, MissingDataError
from .codec import decode

MANIFEST = "manifest.json"


def iter_shard(path: str | os.PathLike, *, decoded: bool = True) -> Iterator[dict[str, Any]]:
    """Yield the samples of one tar as dicts: ``__key__`` plus one entry per field.

    A sample's members are adjacent (WebDataset convention); the key is the member name up
    to its first dot.

    Raises
    ------
    CorruptShardError
        For a truncated tar or a field that does not decode (names the shard and key).
    """
    path = Path(path)
    current: dict[str, Any] | None = None
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                key, _, field = member.name.partition(".")
                if current is not None and current["__key__"] != key:
                    yield current
                    current = None
                if current is None:
                    current = {"__key__": key}
                data = tar.extractfile(member).read()
                try:
                    current[field] = decode(field, data) if decoded else data
                except CorruptShardError as exc:
                    raise CorruptShardError(f"{path}: sample {key!r}: {exc}") from exc
    except tarfile.TarError as exc:
        raise CorruptShardError(f"{path} is not a readable tar: {exc}") from exc
    if current is not None:
        yield current


def load_manifest(out: str | os.PathLike) -> dict:
    """Read ``OUT/manifest.json``; a clear error when ``out`` is not a finished build."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise MissingDataError(
            f"{path} does not exist: {out} is not a finished facedata build "
            "(run `facedata build --out DIR` first, or finish it with the same command)"
        )
    return json.loads(path.read_text())


def shard_paths(out: str | os.PathLike, split: str | None = None) -> list[Path]:
    """Shard files listed in the manifest, optionally of one split, in order."""
    manifest = load_manifest(out)
    return [
        Path(out) / shard["path"]
        for name, info in manifest["splits"].items()
        if split is None or name == split
        for shard in info["shards"]
    ]


def iter_samples(
    out: str | os.PathLike, split: str | None = None, *, decoded: bool = True
) -> Iterator[dict[str, Any]]:
    """Every sample of a build (or of one split), in manifest order."""
    for path in shard_paths(out, split):
        yield from iter_shard(path, decoded=decoded)
