"""Summaries of a finished build: counts, fields, sizes, failures, configuration."""

from __future__ import annotations

import json
import os
import tarfile
from collections import defaultdict
from pathlib import Path

from .fields import manifest_specs
from .reader import load_manifest


def field_sizes(shard: str | os.PathLike, max_samples: int = 200) -> dict[str, float]:
    """Mean stored bytes per field over the first samples of a shard (headers only)."""
    totals: dict[str, int] = defaultdict(int)
    keys: set[str] = set()
    with tarfile.open(shard, "r:") as tar:
        for member in tar:
            key, _, field = member.name.partition(".")
            keys.add(key)
            if len(keys) > max_samples:
                break
            totals[field] += member.size
    n = max(1, min(len(keys), max_samples))
    return {f: totals[f] / n for f in sorted(totals)}


#: Map methods that stand in for a missing network (announced by the build, summed here).
FALLBACKS = {"parsing": ("segmentation", "landmarks"), "sketch": ("xdog",)}


def map_methods(shards: list[Path]) -> dict[str, dict[str, int]]:
    """How many samples each map's method produced (``maps`` of every sample's ``json``)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for shard in shards:
        with tarfile.open(shard, "r:") as tar:
            for member in tar:
                if member.name.endswith(".json"):
                    for name, method in json.load(tar.extractfile(member)).get("maps", {}).items():
                        counts[name][method] += 1
    return {name: dict(methods) for name, methods in counts.items()}


def summarize(out: str | os.PathLike) -> dict:
    """A dict describing a build (what ``facedata inspect --json`` prints)."""
    out = Path(out)
    manifest = load_manifest(out)
    failures_path = out / "failures.jsonl"
    failures = (
        [json.loads(line) for line in failures_path.read_text().splitlines() if line]
        if failures_path.is_file()
        else []
    )
    by_stage: dict[str, int] = defaultdict(int)
    by_reason: dict[str, int] = defaultdict(int)
    for f in failures:
        by_stage[f["stage"]] += 1
        if "reason" in f:
            by_reason[f["reason"]] += 1
    first = next((s["path"] for sp in manifest["splits"].values() for s in sp["shards"]), None)
    return {
        "out": str(out),
        "facedata_version": manifest["facedata_version"],
        "splits": {
            name: {"samples": info["count"], "shards": len(info["shards"]), "bytes": info["bytes"]}
            for name, info in manifest["splits"].items()
        },
        "fields": manifest["fields"],
        "derived_fields": manifest.get("derived_fields", []),
        "field_specs": {n: spec.to_json() for n, spec in manifest_specs(manifest).items()},
        "methods": map_methods(
            [out / s["path"] for sp in manifest["splits"].values() for s in sp["shards"]]
        ),
        "bytes_per_sample": field_sizes(out / first) if first else {},
        "attempted": manifest["attempted"],
        "failed": len(failures),
        "failures_by_stage": dict(by_stage),
        "rejected": sum(by_reason.values()),
        "rejected_by_reason": dict(by_reason),
        "failures": failures[:10],
        "config": {k: manifest[k] for k in ("build", "source", "stages", "split_rule")},
    }


def format_summary(summary: dict) -> str:
    """Human-readable text of :func:`summarize`."""
    lines = [f"build {summary['out']} (facedata {summary['facedata_version']})", "splits:"]
    for name, s in summary["splits"].items():
        lines.append(
            f"  {name:<6} {s['samples']:>8} samples  {s['shards']:>4} shards  "
            f"{s['bytes'] / 2**20:9.1f} MiB"
        )
    lines.append("fields (mean KiB per sample):")
    specs = summary["field_specs"]
    for field, size in summary["bytes_per_sample"].items():
        spec = specs.get(field, {"kind": "metadata", "description": ""})
        lines.append(
            f"  {field:<20} {size / 1024:8.1f}  {spec['kind']:<8} {spec['description']}".rstrip()
        )
    for field in summary["derived_fields"]:
        sources = ", ".join(specs[field]["derive"]["sources"])
        lines.append(f"  {field:<20} {'-':>8}  not stored: readers derive it from {sources}")
    lines.append("maps by method:")
    for name, methods in summary["methods"].items():
        told = ", ".join(
            f"{m} {n}" + (" (fallback)" if m in FALLBACKS.get(name, ()) else "")
            for m, n in sorted(methods.items())
        )
        lines.append(f"  {name:<10} {told}")
    errors = summary["failed"] - summary["rejected"]
    lines.append(
        f"failures: {summary['failed']} of {summary['attempted']} ({errors} errors, "
        f"{summary['rejected']} rejected by a quality gate)"
    )
    for stage, n in summary["failures_by_stage"].items():
        lines.append(f"  {stage}: {n}")
    for reason, n in summary["rejected_by_reason"].items():
        lines.append(f"  rejected, {reason}: {n}")
    for f in summary["failures"]:
        lines.append(f"  {f['key']} [{f['stage']}] {f['error']}")
    cfg = summary["config"]
    lines.append(
        f"source: {cfg['source']['name']} at {cfg['source']['root']}; "
        f"split rule: {cfg['split_rule']}"
    )
    lines.append("build: " + json.dumps(cfg["build"], sort_keys=True))
    for name, stage_cfg in cfg["stages"].items():
        if stage_cfg:
            lines.append(f"stage {name}: " + json.dumps(stage_cfg, sort_keys=True))
    return "\n".join(lines)
