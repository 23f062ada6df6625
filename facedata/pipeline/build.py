"""The build: plan shard tasks, run them, write the manifest and the failure report."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..device import task_device
from ..errors import ConfigError, FacedataError
from ..io.atomic import write_json_atomic, write_text_atomic
from ..sample import Sample, SampleRef
from ..shards.fields import FieldSpec
from ..shards.reader import MANIFEST
from ..shards.writer import ShardWriter
from ..sources import Source, SourceConfig, get_source
from ..sources.splits import assign_splits
from .config import BuildConfig
from .executors import probe, run_tasks, task_resources
from .network_process import collect_stats, network_processes
from .networks import NetworkRuntime
from .stages import (
    ALWAYS,
    Stage,
    StageContext,
    all_stages,
    default_configs,
    guarded,
    resolve_maps,
    stage_class,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
BUILD_STATE = "build.json"
FAILURES = "failures.jsonl"


@dataclass(frozen=True)
class ShardTask:
    """One shard: a contiguous slice of one split, in source order."""

    split: str
    index: int
    refs: tuple[SampleRef, ...]
    device: str = "auto"

    @property
    def name(self) -> str:
        return f"{self.split}/{self.split}-{self.index:06d}.tar"

    @property
    def stats_name(self) -> str:
        return self.name[: -len(".tar")] + "_stats.json"


@dataclass
class Plan:
    """Everything a worker needs to build any shard; pickled once per task."""

    out: str
    source: Source
    config: BuildConfig
    stages: list[tuple[str, bool]]
    stage_configs: dict[str, Any]
    # The registry as the main process saw it: a stage registered at run time (a plugin,
    # pickled by value) is then found by worker processes too.
    registry: dict[str, str | type[Stage]]
    networks: NetworkRuntime = field(default_factory=NetworkRuntime)

    @property
    def field_specs(self) -> tuple[FieldSpec, ...]:
        """The specs of every array field a sample carries, in execution order."""
        return tuple(
            spec
            for n, emit in self.stages
            if emit or n in ALWAYS
            for spec in stage_class(n, self.registry).field_specs(self.stage_configs[n])
        )

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field a sample of this build carries, sorted."""
        return tuple(sorted({"json", *(spec.name for spec in self.field_specs)}))

    @property
    def needs_device(self) -> bool:
        """Whether a stage runs a network (or other torch code) on the task's device."""
        return any(
            stage_class(n, self.registry).needs_device(self.stage_configs[n])
            for n, _ in self.stages
        )


@dataclass
class BuildReport:
    """What a build did, returned to the caller and summarised by the CLI."""

    out: str
    attempted: int = 0
    written: int = 0
    failures: list[dict] = field(default_factory=list)
    shards_built: int = 0
    shards_skipped: int = 0
    shard_errors: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    #: Per device, what its network process did (images, passes, padding, peak GPU memory).
    networks: dict[str, dict] = field(default_factory=dict)

    @property
    def failure_rate(self) -> float:
        return len(self.failures) / self.attempted if self.attempted else 0.0


# Stages are built once per worker process and device, and reused by every task it runs.
_STAGE_CACHE: dict[tuple[str, str], list[Stage]] = {}


def _stages_for(plan: Plan, device: str) -> list[Stage]:
    options = json.dumps(
        [plan.stages, {k: asdict(v) for k, v in plan.stage_configs.items()},
         plan.config.size, plan.config.seed, repr(plan.networks)],
        sort_keys=True,
    )  # fmt: skip
    if any(cached != options for cached, _ in _STAGE_CACHE):
        _STAGE_CACHE.clear()  # another build in this process: free its networks
    if (options, device) not in _STAGE_CACHE:
        context = StageContext(
            size=plan.config.size, seed=plan.config.seed, device=device, networks=plan.networks
        )
        stages = [
            stage_class(n, plan.registry)(plan.stage_configs[n], context) for n, _ in plan.stages
        ]
        for stage in stages:
            stage.setup()
        _STAGE_CACHE[options, device] = stages
    return _STAGE_CACHE[options, device]


def _load(source: Source, ref: SampleRef, split: str) -> Sample:
    try:
        sample = source.load(ref)
    except Exception as exc:
        sample = Sample(key=ref.key, image=None, meta=dict(ref.meta))  # type: ignore[arg-type]
        message = str(exc) if isinstance(exc, FacedataError) else f"{type(exc).__name__}: {exc}"
        sample.fail("load", message)
    sample.meta.update(key=ref.key, source=source.name, split=split)
    return sample


def build_shard(plan: Plan, task: ShardTask, on_sample=None) -> dict:
    """Build one shard and write its stats file; returns the stats.

    ``on_sample(n)`` is called after every ``n`` samples (for a progress bar in-process).
    """
    out = Path(plan.out)
    # The GPU is chosen here, among those this worker sees, not from the driver's count (and
    # torch is not even imported by builds without a network).
    device = task_device(task.device, task.index) if plan.needs_device else task.device
    stages = _stages_for(plan, device)
    for stage in stages:
        stage.start_shard()
    seconds: dict[str, float] = {}
    failures: list[dict] = []
    batch_size = max(1, plan.config.batch_size)
    fields = plan.fields  # derived from the stage classes: once per shard, not per sample
    with ShardWriter(out / task.name, jpeg_quality=plan.config.jpeg_quality) as writer:
        for start in range(0, len(task.refs), batch_size):
            t0 = time.perf_counter()
            batch = [
                _load(plan.source, r, task.split) for r in task.refs[start : start + batch_size]
            ]
            seconds["load"] = seconds.get("load", 0.0) + time.perf_counter() - t0
            n_refs = len(batch)  # a stage may replace a sample by several (one per face)
            for stage in stages:
                t0 = time.perf_counter()
                stage.run(batch)
                seconds[stage.name] = seconds.get(stage.name, 0.0) + time.perf_counter() - t0
            t0 = time.perf_counter()
            for sample in batch:
                if sample.ok:
                    sample.meta["seed"] = plan.config.seed
                    guarded("write", sample, _write, writer, fields)
                if not sample.ok:
                    stage_name, message = sample.error
                    failures.append(
                        {
                            "key": sample.key,
                            "stage": stage_name,
                            "error": message,
                            "shard": task.name,
                        }
                    )
            seconds["encode+write"] = seconds.get("encode+write", 0.0) + time.perf_counter() - t0
            if on_sample:
                on_sample(n_refs)
    stats = {
        "shard": task.name,
        "split": task.split,
        "index": task.index,
        "attempted": len(task.refs),
        "count": writer.count,
        "bytes": writer.nbytes,
        "sha256": writer.sha256,
        "failures": failures,
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
    }
    write_json_atomic(out / task.stats_name, stats)
    return stats


def _write(sample: Sample, writer: ShardWriter, fields: tuple[str, ...]) -> None:
    # Stages that ran only because another needed them leave fields that were not asked for.
    kept = {name: value for name, value in sample.fields.items() if name in fields}
    writer.write(sample.key, {**kept, "json": sample.meta})


def plan_tasks(refs: list[SampleRef], splits: list[str | None], shard_size: int) -> list[ShardTask]:
    """Group samples by split (keeping source order) and cut each split into shards."""
    by_split: dict[str, list[SampleRef]] = {}
    for ref, split in zip(refs, splits):
        if split is not None:
            by_split.setdefault(split, []).append(ref)
    tasks = []
    for split in sorted(by_split):
        items = by_split[split]
        for i, start in enumerate(range(0, len(items), shard_size)):
            tasks.append(ShardTask(split, i, tuple(items[start : start + shard_size])))
    return tasks


def _is_complete(out: Path, task: ShardTask) -> dict | None:
    stats_path = out / task.stats_name
    if not stats_path.is_file() or not (out / task.name).is_file():
        return None
    try:
        stats = json.loads(stats_path.read_text())
    except (OSError, ValueError):
        return None
    if stats.get("bytes") != (out / task.name).stat().st_size or stats.get("attempted") != len(
        task.refs
    ):
        return None
    return stats


def _prepare_out(out: Path, state: dict, overwrite: bool) -> None:
    state_path = out / BUILD_STATE
    if overwrite and out.exists():
        for split_dir in {p.parent for p in out.glob("*/*_stats.json")} | {
            p.parent for p in out.glob("*/*.tar")
        }:
            shutil.rmtree(split_dir)
        for name in (MANIFEST, FAILURES, BUILD_STATE):
            (out / name).unlink(missing_ok=True)
    elif state_path.is_file():
        previous = json.loads(state_path.read_text())
        if previous != json.loads(json.dumps(state, default=str)):
            raise ConfigError(
                f"{out} holds a build made with other options; pass --overwrite to replace it, "
                "or build into another folder"
            )
    elif out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not a facedata build; choose an empty folder")
    for stale in out.glob("*/.*.tmp-*"):  # left by a killed build; never a finished shard
        stale.unlink()
    write_json_atomic(state_path, state)


def build(
    config: BuildConfig,
    source_config: SourceConfig,
    stage_configs: dict[str, Any] | None = None,
    *,
    overwrite: bool = False,
    resume: bool = True,
) -> BuildReport:
    """Build WebDataset shards from a source.

    Parameters
    ----------
    config : BuildConfig
    source_config : SourceConfig
    stage_configs : dict, optional
        Map name → that stage's config; defaults for the rest.
    overwrite : bool
        Remove a previous build in ``config.out`` first.
    resume : bool
        Skip shards that are already complete (their stats file exists and matches).

    Returns
    -------
    BuildReport

    Raises
    ------
    FacedataError
        For a bad source, contradictory options, or an output folder holding another build.
    """
    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    # Before anything else: a wrong scheduler address is one message, not a planned build.
    probe(config.backend, config.scheduler)
    # Workers run elsewhere, in other folders: every path they get is absolute.
    out = Path(config.out).expanduser().resolve()
    config = replace(config, out=str(out))
    source_config = replace(
        source_config,
        root=_absolute(source_config.root),
        partition_file=_absolute(source_config.partition_file),
    )
    registry = all_stages()
    stages = resolve_maps(tuple(config.maps), registry)
    configs = default_configs([n for n, _ in stages], registry) | {
        k: v for k, v in (stage_configs or {}).items() if k in dict(stages)
    }
    for name, _ in stages:
        stage_class(name, registry).check(configs[name])
        if notice := stage_class(name, registry).notice(configs[name]):
            log.warning("%s: %s", name, notice)  # once per build, not once per worker
    runtime = NetworkRuntime(batch=config.network_batch, precision=config.precision)
    source_config = replace(source_config, decode_size=config.size)
    source = get_source(source_config)
    refs = source.refs()
    if config.limit is not None:
        refs = refs[: config.limit]
    if config.shard_size < 1:
        raise ConfigError("--shard-size must be at least 1")
    splits, rule = assign_splits(refs, config.split, source.partition_path())
    resolved = {
        "facedata_version": __version__,
        "format_version": FORMAT_VERSION,
        "build": config.fingerprint(),
        "source": asdict(source_config) | {"root": str(source.root)},
        "stages": {n: asdict(c) for n, c in configs.items()},
        "split_rule": rule,
    }
    _prepare_out(out, resolved, overwrite)
    plan = Plan(str(out), source, config, stages, configs, {n: registry[n] for n, _ in stages})
    tasks = plan_tasks(refs, splits, config.shard_size)
    if plan.needs_device:
        tasks = [replace(t, device=config.device) for t in tasks]

    report = BuildReport(out=str(out), attempted=len(refs))
    unsplit = [
        {
            "key": r.key,
            "stage": "split",
            "error": f"{r.orig_file} is not in the partition file",
            "shard": None,
        }
        for r, s in zip(refs, splits)
        if s is None
    ]
    results: dict[str, dict] = {}
    todo = []
    for task in tasks:
        done = _is_complete(out, task) if resume else None
        if done is not None:
            results[task.name] = done
            report.shards_skipped += 1
        else:
            todo.append(task)
    specs = list(dict.fromkeys(
        s for n, _ in stages for s in stage_class(n).network_specs(configs[n])
    ))  # fmt: skip
    with contextlib.ExitStack() as running:
        if specs and todo and not config.scheduler:
            # One network process per device the workers will pick (each GPU of this
            # machine), fed by every worker; a remote cluster's workers cannot reach this
            # machine's sockets: they load their own copies.
            devices = sorted({task_device(t.device, t.index) for t in todo})
            runtime = running.enter_context(network_processes(specs, devices, runtime))
        plan.networks = runtime
        with tqdm(total=sum(len(t.refs) for t in todo), unit="img", desc="build",
                  disable=not config.progress) as bar:  # fmt: skip
            _run_pending(plan, todo, results, report, bar)
        report.networks = collect_stats(runtime)

    ordered = [results[t.name] for t in tasks if t.name in results]
    report.failures = unsplit + [f for s in ordered for f in s.get("failures", [])]
    report.failures += [
        {"key": None, "stage": "shard", "error": s["error"], "shard": s["shard"]}
        for s in report.shard_errors
    ]
    report.written = sum(s.get("count", 0) for s in ordered)
    for s in ordered:
        for k, v in s.get("seconds", {}).items():
            report.seconds[k] = report.seconds.get(k, 0.0) + v
    _write_failures(out / FAILURES, report.failures)
    if not report.shard_errors:
        manifest = dict(resolved)
        manifest["build"] = asdict(config) | {"out": str(out)}
        manifest["maps"] = [n for n, emit in stages if emit and n != "resize"]
        manifest["fields"] = list(plan.fields)
        manifest["field_specs"] = [spec.to_json() for spec in plan.field_specs]
        manifest["splits"] = _split_table(tasks, results)
        manifest["attempted"] = report.attempted
        manifest["failed"] = len(report.failures)
        write_json_atomic(out / MANIFEST, manifest)
    report.seconds["total"] = time.perf_counter() - t_start
    return report


def _run_pending(
    plan: Plan, todo: list[ShardTask], results: dict, report: BuildReport, bar
) -> None:
    """Run shard tasks; when the executor itself breaks (a worker killed by the OOM killer),
    the shards not finished are run once more on a fresh executor, then reported."""
    config = plan.config
    # 0 workers: one process per CPU core, never more than there are shards to build.
    workers = max(1, min(config.workers or os.cpu_count() or 1, len(todo)))
    inline = workers == 1 and config.backend == "loky"
    pending = list(todo)
    for attempt in range(2):
        try:
            for stats in run_tasks(
                _build_shard_safely,
                [(plan, t, bar.update if inline else None) for t in pending],
                workers=workers,
                backend=config.backend,
                scheduler=config.scheduler,
                needs=lambda args: task_resources(args[1].device),
                worker_wait=config.worker_wait,
            ):
                results[stats["shard"]] = stats
                if "error" in stats:
                    report.shard_errors.append(stats)
                else:
                    report.shards_built += 1
                if not inline:
                    bar.update(stats["attempted"])
            return
        except (FacedataError, KeyboardInterrupt):
            raise
        except Exception as exc:  # the executor broke, not one shard's code
            log.warning(
                "executor failed (%s); %s", exc, "retrying" if attempt == 0 else "giving up"
            )
            pending = [t for t in pending if t.name not in results]
            error = f"worker lost: {type(exc).__name__}: {exc}"
    for task in pending:
        stats = {
            "shard": task.name,
            "split": task.split,
            "attempted": len(task.refs),
            "error": error,
        }
        results[task.name] = stats
        report.shard_errors.append(stats)


def _absolute(path: str | None) -> str | None:
    return str(Path(path).expanduser().resolve()) if path else None


def _build_shard_safely(plan: Plan, task: ShardTask, on_sample=None) -> dict:
    """Run a shard task; an unexpected crash is retried once, then reported, never raised."""
    error = None
    for _attempt in range(2):
        try:
            return build_shard(plan, task, on_sample)
        except Exception as exc:  # a bug or resource failure in this shard only
            log.warning("shard %s failed: %s", task.name, exc, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
    return {"shard": task.name, "split": task.split, "attempted": len(task.refs), "error": error}


def _split_table(tasks: list[ShardTask], results: dict[str, dict]) -> dict:
    table: dict[str, dict] = {}
    for task in tasks:
        stats = results[task.name]
        entry = table.setdefault(task.split, {"count": 0, "bytes": 0, "shards": []})
        entry["count"] += stats["count"]
        entry["bytes"] += stats["bytes"]
        entry["shards"].append(
            {
                "path": task.name,
                "count": stats["count"],
                "bytes": stats["bytes"],
                "sha256": stats["sha256"],
            }
        )
    return table


def _write_failures(path: Path, failures: list[dict]) -> None:
    write_text_atomic(path, "".join(json.dumps(f, sort_keys=True) + "\n" for f in failures))
