"""Checking a finished build: checksums, decodability, and every field against its spec."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CorruptShardError, FacedataError
from ..io.lock import FolderLock
from ..progress import progress_bar
from ..weights import sha256_file
from .derive import Deriver
from .fields import FieldSpec, manifest_specs
from .manifest import CHECKSUM, checksum
from .reader import MANIFEST, iter_shard, load_manifest


@dataclass
class VerifyReport:
    """Problems found, as ``"shard: key: what"`` lines; empty when the build is sound.

    ``repair`` lists the shards whose bytes no longer match the manifest (or are missing):
    ``facedata build … --repair`` with the build's options rebuilds exactly those.
    """

    out: str = ""
    shards: int = 0
    samples: int = 0
    problems: list[str] = field(default_factory=list)
    repair: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def remedy(self) -> str | None:
        """What to run, when something can be rebuilt."""
        if not self.repair:
            return None
        return (
            f"{len(self.repair)} shards no longer match the manifest: run the build command "
            f"that made {self.out} again with --repair (facedata build --out {self.out} … "
            "--repair) to rebuild exactly those"
        )

    def as_dict(self) -> dict:
        """The report as JSON-ready data (``facedata verify --json``)."""
        return {
            "out": self.out,
            "ok": self.ok,
            "shards": self.shards,
            "samples": self.samples,
            "problems": self.problems,
            "repair": self.repair,
            "remedy": self.remedy,
        }


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


def check_derived(
    sample: dict, size: int, specs: dict[str, FieldSpec], deriver: Deriver
) -> list[str]:
    """Each stored derived field must equal its derivation from the sample's other fields;
    the fields the build left out are added to ``sample`` (a derivation that fails is a
    problem)."""
    problems = []
    for name, spec in specs.items():
        if spec.derive is None or name not in sample or name in deriver.fields:
            continue
        try:
            expected = spec.derive.compute(sample, size=size)
        except KeyError as exc:
            problems.append(f"{name} is derived from {exc.args[0]}, which the sample lacks")
            continue
        except Exception as exc:
            problems.append(f"{name} cannot be derived again ({type(exc).__name__}: {exc})")
            continue
        stored = sample[name]
        if not (isinstance(stored, np.ndarray) and np.array_equal(stored, expected)):
            problems.append(
                f"{name} differs from its derivation from {', '.join(spec.derive.sources)} "
                "(the field or its source was changed after the build)"
            )
    try:
        deriver(sample)
    except FacedataError as exc:
        problems.append(str(exc))
    return problems


def verify(out: str | os.PathLike, *, progress: bool = False) -> VerifyReport:
    """Check a build in full against its manifest.

    The manifest itself (its checksum, so edits are caught), every shard file on disk against
    the manifest's list and back, each shard's sha256, sample count and stats file, the
    counts per split, the totals against ``failures.jsonl``, and every sample: its fields,
    its key (unique in the build), split and seed. A build with 0 samples is a problem too.

    Raises
    ------
    MissingDataError
        When ``out`` holds no ``manifest.json`` (not a finished build).
    """

    out = Path(out)
    report = VerifyReport(out=str(out))
    manifest = _manifest(out, report)
    if manifest is None:
        return report
    holder = FolderLock(out).held_by()
    if holder:
        report.problems.append(
            f"a build is writing into {out} (process {holder.get('pid', '?')} on "
            f"{holder.get('host', '?')}): verify it once that build has finished"
        )
    size = manifest["build"]["size"]
    seed = manifest["build"].get("seed")
    specs = manifest_specs(manifest)
    deriver = Deriver.of_manifest(manifest)
    fields = manifest["fields"] + list(deriver.fields)  # every sample has them, once derived
    listed = [(name, s) for name, split in manifest["splits"].items() for s in split["shards"]]
    _check_listing(out, manifest, listed, report)
    seen_keys: set[str] = set()
    for split, shard in progress_bar(listed, unit="shard", desc="verify", show=progress):
        report.shards += 1
        path = out / shard["path"]
        if not path.is_file():
            report.problems.append(f"{shard['path']}: file is missing")
            report.repair.append(shard["path"])
            continue
        if (digest := sha256_file(path)) != shard["sha256"]:
            report.problems.append(
                f"{shard['path']}: sha256 {digest[:12]}… differs from the manifest's "
                f"{shard['sha256'][:12]}…"
            )
            report.repair.append(shard["path"])
        count = 0
        try:
            # The count and sha256 are compared with the manifest here, each named once.
            for sample in iter_shard(path, expected=None):
                count += 1
                key = sample["__key__"]
                problems = check_derived(sample, size, specs, deriver)
                problems += check_sample(sample, size, fields, specs)
                problems += _check_identity(sample, split, seed, seen_keys)
                for problem in problems:
                    report.problems.append(f"{shard['path']}: {key}: {problem}")
        except CorruptShardError as exc:
            report.problems.append(f"{shard['path']}: {exc}")
        report.samples += count
        if count != shard["count"]:
            report.problems.append(
                f"{shard['path']}: holds {count} samples, the manifest says {shard['count']}"
            )
        _check_stats(out, shard, report)
    if report.samples == 0:
        report.problems.append(
            f"{out} holds 0 samples: every sample failed or the source was empty "
            f"(see {out / 'failures.jsonl'})"
        )
    return report


def _manifest(out: Path, report: VerifyReport) -> dict | None:
    """The manifest when it is whole and unedited enough to check shards against."""
    path = out / MANIFEST
    if not path.is_file():
        load_manifest(out)  # raises the reader's "not a finished build" error
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        report.problems.append(f"{MANIFEST}: cannot be read as JSON ({exc}); rebuild {out}")
        return None
    missing = [k for k in ("build", "fields", "splits") if k not in manifest]
    if not isinstance(manifest, dict) or missing:
        report.problems.append(f"{MANIFEST}: lacks {missing}; rebuild {out}")
        return None
    if CHECKSUM not in manifest:
        report.problems.append(
            f"{MANIFEST}: has no checksum (format version {manifest.get('format_version')}, "
            "from an older facedata), so edits cannot be detected; rebuild it with --overwrite"
        )
    elif manifest[CHECKSUM] != checksum(manifest):
        report.problems.append(
            f"{MANIFEST}: its checksum does not match its content: the file was edited "
            "after the build (re-run the build command to rewrite it)"
        )
    return manifest


def _check_listing(out: Path, manifest: dict, listed: list, report: VerifyReport) -> None:
    """Shards on disk vs the manifest, counts per split, totals vs ``failures.jsonl``."""
    paths = {s["path"] for _, s in listed}
    for tar in sorted(out.rglob("*.tar")):
        name = tar.relative_to(out).as_posix()
        if name not in paths and not tar.name.startswith("."):
            report.problems.append(f"{name}: shard on disk is not listed in {MANIFEST}")
    for name, split in manifest["splits"].items():
        total = sum(s["count"] for s in split["shards"])
        if split.get("count") != total:
            report.problems.append(
                f"{MANIFEST}: split {name} says {split.get('count')} samples, its shards {total}"
            )
    failures_path = out / "failures.jsonl"
    try:
        failures = [json.loads(x) for x in failures_path.read_text().splitlines() if x.strip()]
    except (OSError, ValueError) as exc:
        report.problems.append(f"failures.jsonl: cannot be read ({exc})")
        return
    if manifest.get("failed") != len(failures):
        report.problems.append(
            f"{MANIFEST}: says {manifest.get('failed')} samples failed, failures.jsonl "
            f"lists {len(failures)}"
        )
    rejected = sum(1 for f in failures if "reason" in f)
    # Builds from before rejections were counted have no key and no line with a reason.
    if manifest.get("rejected", 0) != rejected:
        report.problems.append(
            f"{MANIFEST}: says {manifest.get('rejected')} samples were rejected by a quality "
            f"gate, failures.jsonl lists {rejected} with a reason"
        )
    unsplit = sum(1 for f in failures if f.get("stage") == "split")
    attempted = unsplit
    for _, shard in listed:
        stats = _stats(out, shard)
        attempted += stats.get("attempted", 0) if stats else 0
    if manifest.get("attempted") != attempted:
        report.problems.append(
            f"{MANIFEST}: says {manifest.get('attempted')} samples were attempted, the shards' "
            f"stats {attempted}"
        )


def _stats(out: Path, shard: dict) -> dict | None:
    path = out / (shard["path"][: -len(".tar")] + "_stats.json")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _check_stats(out: Path, shard: dict, report: VerifyReport) -> None:
    stats = _stats(out, shard)
    if stats is None:
        report.problems.append(f"{shard['path']}: its stats file is missing or unreadable")
        return
    for key in ("count", "bytes", "sha256"):
        if stats.get(key) != shard.get(key):
            report.problems.append(
                f"{shard['path']}: stats say {key} {stats.get(key)!r}, the manifest "
                f"{shard.get(key)!r}"
            )


def _check_identity(sample: dict, split: str, seed, seen: set[str]) -> list[str]:
    """A sample's key is unique in the build; its metadata names its split and seed."""
    problems = []
    key = sample["__key__"]
    if key in seen:
        problems.append("key appears twice in the build")
    seen.add(key)
    meta = sample.get("json")
    if isinstance(meta, dict):
        if meta.get("split") != split:
            problems.append(f"json says split {meta.get('split')!r}, the shard is in {split!r}")
        if meta.get("seed") != seed:
            problems.append(f"json says seed {meta.get('seed')!r}, the manifest {seed!r}")
    return problems
