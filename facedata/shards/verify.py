"""Checking a finished build: checksums, decodability, and every field against its spec."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CorruptShardError
from ..weights import sha256_file
from .fields import FieldSpec, manifest_specs
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


def check_sample(
    sample: dict, size: int, fields: list[str], specs: dict[str, FieldSpec]
) -> list[str]:
    """Problems of one decoded sample (empty list when it is sound).

    Parameters
    ----------
    sample : dict
        As yielded by :func:`~facedata.shards.reader.iter_shard`.
    size : int
        The build's output side.
    fields : list of str
        The fields the manifest says every sample has.
    specs : dict
        Field name → :class:`~facedata.shards.fields.FieldSpec` (shape, dtype and values of
        each field).
    """
    problems = []
    missing = sorted(set(fields) - set(sample))
    if missing:
        problems.append(f"missing fields {missing}")
    if extra := sorted(set(sample) - set(fields) - {"__key__"}):
        problems.append(f"fields {extra} are not in the manifest")
    for name, value in sample.items():
        if name in specs:
            problems += specs[name].problems(value, size=size)
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
    specs = manifest_specs(manifest)
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
                for problem in check_sample(sample, size, fields, specs):
                    report.problems.append(f"{shard['path']}: {sample['__key__']}: {problem}")
        except CorruptShardError as exc:
            report.problems.append(f"{shard['path']}: {exc}")
        report.samples += count
        if count != shard["count"]:
            report.problems.append(
                f"{shard['path']}: holds {count} samples, the manifest says {shard['count']}"
            )
    return report
