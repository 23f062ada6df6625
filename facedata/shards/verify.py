"""Checking a finished build: checksums, decodability, shapes, ranges and label ids."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CorruptShardError
from ..labels import CLASSES
from ..weights import sha256_file
from .fields import BINARY_FIELDS, FULL_SIZE_FIELDS, LABEL_FIELDS
from .reader import iter_shard, load_manifest


@dataclass
class VerifyReport:
    """Problems found, as ``"shard: key: what"`` lines; empty when the build is sound."""

    shards: int = 0
    samples: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_sample(sample: dict, size: int, fields: list[str]) -> list[str]:
    """Problems of one decoded sample (empty list when it is sound).

    Parameters
    ----------
    sample : dict
        As yielded by :func:`~facedata.shards.reader.iter_shard`.
    size : int
        The build's output side.
    fields : list of str
        The fields the manifest says every sample has.
    """
    problems = []
    missing = sorted(set(fields) - set(sample))
    if missing:
        problems.append(f"missing fields {missing}")
    for name, value in sample.items():
        if not isinstance(value, np.ndarray) or not name.endswith((".png", "jpg")):
            continue
        if name in FULL_SIZE_FIELDS and value.shape[:2] != (size, size):
            problems.append(f"{name} is {value.shape[1]}x{value.shape[0]}, expected {size}x{size}")
        if value.dtype != np.uint8:
            problems.append(f"{name} has dtype {value.dtype}, expected uint8")
        if name in LABEL_FIELDS and value.size and value.max() >= len(CLASSES):
            problems.append(f"{name} holds label id {int(value.max())} (valid: 0-18)")
        if name in BINARY_FIELDS and not np.isin(value, (0, 255)).all():
            problems.append(f"{name} holds values other than 0 and 255")
    meta = sample.get("json")
    if not isinstance(meta, dict) or meta.get("key") != sample["__key__"]:
        problems.append("json metadata is missing or names another key")
    return problems


def verify(out: str | os.PathLike, *, progress: bool = False) -> VerifyReport:
    """Check every shard of a build against its manifest and every sample's fields."""
    from tqdm.auto import tqdm

    out = Path(out)
    manifest = load_manifest(out)
    size = manifest["build"]["size"]
    fields = manifest["fields"]
    report = VerifyReport()
    shards = [s for split in manifest["splits"].values() for s in split["shards"]]
    for shard in tqdm(shards, unit="shard", desc="verify", disable=not progress):
        report.shards += 1
        path = out / shard["path"]
        if not path.is_file():
            report.problems.append(f"{shard['path']}: file is missing")
            continue
        if (digest := sha256_file(path)) != shard["sha256"]:
            report.problems.append(
                f"{shard['path']}: sha256 {digest[:12]}… differs from the manifest's "
                f"{shard['sha256'][:12]}…"
            )
        count = 0
        try:
            # The count and sha256 are compared with the manifest here, each named once.
            for sample in iter_shard(path, expected=None):
                count += 1
                for problem in check_sample(sample, size, fields):
                    report.problems.append(f"{shard['path']}: {sample['__key__']}: {problem}")
        except CorruptShardError as exc:
            report.problems.append(f"{shard['path']}: {exc}")
        report.samples += count
        if count != shard["count"]:
            report.problems.append(
                f"{shard['path']}: holds {count} samples, the manifest says {shard['count']}"
            )
    return report
