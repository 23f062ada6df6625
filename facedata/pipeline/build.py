"""The build as a session: plan the shard tasks, run them, finalize the manifest.

A :class:`BuildSession` checks every option before it reads or writes a file, holds the
output folder's lock from planning to its end, owns the stage objects (networks included)
that run in this process, and releases them when it closes. :func:`build` is
plan → run → finalize.

Shards are contiguous slices of each split in source order, ``shard_size`` samples each.
Every shard's stats record a fingerprint of each of its samples' inputs
(:mod:`~facedata.pipeline.fingerprint`), so a re-run rebuilds exactly the shards whose inputs
changed; see ``docs/reliability.md`` for why this assignment rather than one by key hash.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import os
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..device import task_device
from ..errors import BuildFailedError, ConfigError, FacedataError, OutputError
from ..io.atomic import write_json_atomic, write_text_atomic
from ..io.lock import LOCK_NAME, FolderLock
from ..progress import progress_bar
from ..sample import Sample, SampleRef
from ..shards.derive import unstored
from ..shards.fields import FieldSpec
from ..shards.manifest import CHECKSUM, checksum
from ..shards.reader import MANIFEST
from ..shards.writer import ShardWriter
from ..sources import SOURCES, Source, SourceConfig, get_source
from ..sources.splits import assign_splits
from .align import resolve_eyes
from .config import BuildConfig
from .executors import probe, run_tasks, task_resources
from .fingerprint import InputChanges, option_changes, sample_digest
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

#: 2: shard stats carry input fingerprints; the manifest carries its checksum.
FORMAT_VERSION = 2
BUILD_STATE = "build.json"
FAILURES = "failures.jsonl"

#: What a re-run tells the user after an OS error stopped a build.
KEPT = "; finished shards are kept: fix this and run the same command again"

# OS errors that no retry can cure: the build stops at once instead of failing every shard.
_FATAL_ERRNOS = {
    errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM,
    errno.ENOTDIR, errno.EEXIST,
}  # fmt: skip

_SHARD_FILE = re.compile(r"(?P<split>[^/]+)/(?P=split)-\d{6}(\.tar|_stats\.json)")


@dataclass(frozen=True)
class ShardTask:
    """One shard: a contiguous slice of one split, in source order.

    ``inputs`` holds one fingerprint per ref (see
    :func:`~facedata.pipeline.fingerprint.sample_digest`).
    """

    split: str
    index: int
    refs: tuple[SampleRef, ...]
    device: str = "auto"
    inputs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.split}/{self.split}-{self.index:06d}.tar"

    @property
    def stats_name(self) -> str:
        return self.name[: -len(".tar")] + "_stats.json"

    def input_table(self) -> list[list[str]]:
        """``[[key, fingerprint], ...]`` as the stats file stores it."""
        return [[r.key, d] for r, d in zip(self.refs, self.inputs)]


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
    def derived(self) -> tuple[FieldSpec, ...]:
        """The derived fields the build writes: computed from their sources by their spec."""
        return tuple(spec for spec in self.field_specs if spec.derive is not None
                     and spec.name not in self.unstored)  # fmt: skip

    @property
    def unstored(self) -> tuple[str, ...]:
        """The derived fields left out of the shards (``store_derived`` off)."""
        if self.config.store_derived:
            return ()
        return unstored(self.field_specs, [spec.name for spec in self.field_specs])

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field a sample of this build carries, sorted."""
        names = {spec.name for spec in self.field_specs} - set(self.unstored)
        return tuple(sorted({"json", *names}))

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
    shards_removed: int = 0
    shard_errors: list[dict] = field(default_factory=list)
    changes: InputChanges = field(default_factory=InputChanges)
    seconds: dict[str, float] = field(default_factory=dict)
    #: Per device, what its network process did (images, passes, padding, peak GPU memory).
    networks: dict[str, dict] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        """Failure lines of samples a quality gate turned away (they carry a ``reason``)."""
        return sum(1 for f in self.failures if "reason" in f)

    @property
    def failure_rate(self) -> float:
        """Failures that are errors, per sample attempted: rejections do not count (a group
        photo's small faces are the gate working, not the build failing)."""
        errors = len(self.failures) - self.rejected
        return errors / self.attempted if self.attempted else 0.0


class StageSets:
    """The stage objects of one build, by device: set up on first use, released by close().

    The session keeps one for the shards it builds in its own process; a worker process
    makes one per shard task, so nothing outlives the task that loaded it.
    """

    def __init__(self, plan: Plan):
        self.plan = plan
        self._sets: dict[str, list[Stage]] = {}

    def get(self, device: str) -> list[Stage]:
        if device not in self._sets:
            plan = self.plan
            context = StageContext(
                size=plan.config.size, seed=plan.config.seed, device=device, networks=plan.networks
            )
            stages = [
                stage_class(n, plan.registry)(plan.stage_configs[n], context)
                for n, _ in plan.stages
            ]
            for stage in stages:
                stage.setup()
            self._sets[device] = stages
        return self._sets[device]

    def close(self) -> None:
        """Drop every stage (and the networks they hold), then free cached GPU memory."""
        self._sets.clear()
        gc.collect()
        torch = sys.modules.get("torch")  # never imported just to clean up
        if torch is not None and torch.cuda.is_initialized():
            torch.cuda.empty_cache()


def _load(source: Source, ref: SampleRef, split: str) -> Sample:
    try:
        sample = source.load(ref)
    except Exception as exc:
        sample = Sample(key=ref.key, image=None, meta=dict(ref.meta))  # type: ignore[arg-type]
        message = str(exc) if isinstance(exc, FacedataError) else f"{type(exc).__name__}: {exc}"
        sample.fail("load", message)
    sample.meta.update(key=ref.key, source=source.name, split=split)
    return sample


def build_shard(
    plan: Plan, task: ShardTask, stage_sets: StageSets | None = None, on_sample=None
) -> dict:
    """Build one shard and write its stats file; returns the stats.

    ``stage_sets`` supplies the set-up stages (a private set, released at the end, when
    ``None``); ``on_sample(n)`` is called after every ``n`` samples (for a progress bar
    in-process).
    """
    if stage_sets is None:
        own = StageSets(plan)
        try:
            return build_shard(plan, task, own, on_sample)
        finally:
            own.close()
    out = Path(plan.out)
    # The GPU is chosen here, among those this worker sees, not from the driver's count (and
    # torch is not even imported by builds without a network).
    device = task_device(task.device, task.index) if plan.needs_device else task.device
    stages = stage_sets.get(device)
    for stage in stages:
        stage.start_shard()
    seconds: dict[str, float] = {}
    failures: list[dict] = []
    eyes: dict[str, int] = {}
    batch_size = max(1, plan.config.batch_size)
    fields = plan.fields  # derived from the stage classes: once per shard, not per sample
    derived = plan.derived
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
                    guarded("write", sample, _write, writer, fields, derived, plan.config.size)
                if sample.ok:
                    source = sample.meta.get("eyes_from", "none")
                    eyes[source] = eyes.get(source, 0) + 1
                else:
                    stage_name, message = sample.error
                    failures.append(
                        {
                            "key": sample.key,
                            "stage": stage_name,
                            "error": message,
                            "shard": task.name,
                        }
                        | ({"reason": sample.rejected} if sample.rejected else {})
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
        "inputs": task.input_table(),
        "failures": failures,
        "eyes_from": eyes,
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
    }
    write_json_atomic(out / task.stats_name, stats)
    return stats


def _write(
    sample: Sample,
    writer: ShardWriter,
    fields: tuple[str, ...],
    derived: tuple[FieldSpec, ...],
    size: int,
) -> None:
    # A stored derived field is its derivation, by construction: what readers compute when
    # another build leaves it out.
    for spec in derived:
        sample.fields[spec.name] = spec.derive.compute(sample.fields, size=size)
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


@contextlib.contextmanager
def _output_errors():
    """Turn an OS refusal to write (disk full, read-only, ...) into one :class:`OutputError`."""
    try:
        yield
    except OSError as exc:
        raise OutputError.from_os_error(exc, then=KEPT) from exc


def _check_out(out: Path) -> None:
    """``--out`` must be a folder or creatable as one: no file at it or above it."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; pass a folder (new or a previous build)")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"--out {out} cannot be created: {parent} is a file")
            break


def _is_ours(path: Path) -> bool:
    """The lock file or a killed writer's temporary file: never a finished output."""
    return path.name == LOCK_NAME or (path.name.startswith(".") and ".tmp-" in path.name)


def _read_stats(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class BuildSession:
    """One build into one folder: :meth:`plan`, :meth:`run`, :meth:`finalize`, then close.

    The constructor checks every option and touches no file. Use it as a context manager,
    so the folder's lock and the stages' networks are released whatever happens.

    Parameters
    ----------
    config : BuildConfig
    source_config : SourceConfig
    stage_configs : dict, optional
        Map name → that stage's config; defaults for the rest.
    overwrite : bool
        Remove a previous build in ``config.out`` first.
    resume : bool
        Keep shards that are complete and whose inputs are unchanged.
    repair : bool
        Also re-hash every kept shard and rebuild those whose bytes no longer match.
    """

    def __init__(
        self,
        config: BuildConfig,
        source_config: SourceConfig,
        stage_configs: dict[str, Any] | None = None,
        *,
        overwrite: bool = False,
        resume: bool = True,
        repair: bool = False,
    ):
        # Workers run elsewhere, in other folders: every path they get is absolute.
        self.out = Path(config.out).expanduser().resolve()
        self.config = config = replace(config, out=str(self.out))
        self.overwrite, self.resume, self.repair = overwrite, resume, repair
        self.registry = registry = all_stages()
        self.stages = resolve_maps(tuple(config.maps), registry)
        self.configs = default_configs([n for n, _ in self.stages], registry) | {
            k: v for k, v in (stage_configs or {}).items() if k in dict(self.stages)
        }
        self.configs["align"] = resolve_eyes(self.configs, registry)
        if source_config.name not in SOURCES:
            raise ConfigError(
                f"unknown source {source_config.name!r}; choose one of {', '.join(sorted(SOURCES))}"
            )
        self.source_config = replace(
            source_config,
            root=_absolute(source_config.root),
            partition_file=_absolute(source_config.partition_file),
            decode_size=config.size,
        )
        self._lock: FolderLock | None = None
        self._stage_sets: StageSets | None = None

    # -- plan ---------------------------------------------------------------------------

    def plan(self) -> list[ShardTask]:
        """Check the environment, list the source, lock the folder and decide what to build.

        Returns every shard task of the build; :attr:`todo` holds those to (re)build.
        """
        config, out = self.config, self.out
        # Before anything else: a wrong scheduler address is one message, not a planned build.
        probe(config.backend, config.scheduler)
        _check_out(out)
        if config.device.startswith("cuda"):
            from ..device import resolve_device

            resolve_device(config.device)  # a ConfigError when no GPU is visible
        self.configs = {
            n: stage_class(n, self.registry).resolve(c, config.device)
            for n, c in self.configs.items()
        }
        for name, _ in self.stages:
            stage_class(name, self.registry).check(self.configs[name])
        source = get_source(self.source_config)
        self.shard_plan = plan = Plan(
            str(out), source, config, self.stages, self.configs,
            {n: self.registry[n] for n, _ in self.stages},
            NetworkRuntime(batch=config.network_batch, precision=config.precision),
        )  # fmt: skip
        needs_device = plan.needs_device
        refs = source.refs()
        if config.limit is not None:
            refs = refs[: config.limit]
        splits, rule = assign_splits(refs, config.split, source.partition_path())
        options = config.fingerprint()
        if not needs_device:
            options.pop("device")  # no stage runs on it: it cannot change a byte
        self.state = {
            "facedata_version": __version__,
            "format_version": FORMAT_VERSION,
            "build": options,
            "source": asdict(self.source_config) | {"root": str(source.root)},
            "stages": {n: asdict(c) for n, c in self.configs.items()},
            "split_rule": rule,
        }
        tasks = plan_tasks(refs, splits, config.shard_size)
        tasks = [
            replace(
                t,
                device=config.device if needs_device else t.device,
                inputs=tuple(sample_digest(r, source.inputs(r)) for r in t.refs),
            )
            for t in tasks
        ]
        self.unsplit = [
            {
                "key": r.key,
                "stage": "split",
                "error": f"{r.orig_file} is not in the partition file",
                "shard": None,
            }
            for r, s in zip(refs, splits)
            if s is None
        ]
        self.attempted = len(refs)
        self.tasks = tasks
        with _output_errors():
            out.mkdir(parents=True, exist_ok=True)
            self._lock = FolderLock(out)
            self._lock.acquire()
            self._prepare_out()
            self._decide()
        # Once per build, not once per worker; and only by a build that will run (after every
        # check and the lock), so a refused one prints its refusal alone.
        for name, _ in self.stages:
            if notice := stage_class(name, self.registry).notice(self.configs[name]):
                log.warning("%s: %s", name, notice)
        return tasks

    def _prepare_out(self) -> None:
        out, state = self.out, self.state
        state_path = out / BUILD_STATE
        if self.overwrite:
            for split_dir in {p.parent for p in out.glob("*/*_stats.json")} | {
                p.parent for p in out.glob("*/*.tar")
            }:
                shutil.rmtree(split_dir)
            for name in (MANIFEST, FAILURES, BUILD_STATE):
                (out / name).unlink(missing_ok=True)
        elif state_path.is_file():
            previous = _read_stats(state_path)
            current = json.loads(json.dumps(state, default=str))
            if previous != current:
                differences = option_changes(previous or {}, current)
                raise ConfigError(
                    f"{out} holds a build made with other options ({'; '.join(differences)}); "
                    "pass --overwrite to replace it, or build into another folder"
                )
        elif any(not _is_ours(p) for p in out.iterdir()):
            raise ConfigError(f"{out} exists and is not a facedata build; choose an empty folder")
        # Left by a killed writer (the lock says none is running); never a finished file.
        for stale in [*out.glob(".*.tmp-*"), *out.glob("*/.*.tmp-*")]:
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
        write_json_atomic(state_path, state)

    def _decide(self) -> None:
        """Split the tasks into kept and to-build; remove shards the plan no longer has."""
        out = self.out
        planned = {t.name for t in self.tasks} | {t.stats_name for t in self.tasks}
        on_disk = [
            p
            for p in [*out.glob("*/*.tar"), *out.glob("*/*_stats.json")]
            if _SHARD_FILE.fullmatch(p.relative_to(out).as_posix())
        ]
        previous: dict[str, str] = {}
        for path in on_disk:
            if path.name.endswith("_stats.json"):
                stats = _read_stats(path) or {}
                previous.update((k, d) for k, d in stats.get("inputs", []))
        current = {r.key: d for t in self.tasks for r, d in zip(t.refs, t.inputs)}
        self.changes = InputChanges.between(previous, current) if previous else InputChanges()
        self.results: dict[str, dict] = {}
        self.todo: list[ShardTask] = []
        self.built, self.shard_errors = 0, []
        self.networks: dict[str, dict] = {}
        for task in self.tasks:
            done = self._complete(task) if self.resume else None
            if done is None:
                self.todo.append(task)
            else:
                self.results[task.name] = done
        stale = [p for p in on_disk if p.relative_to(out).as_posix() not in planned]
        self.removed = sum(1 for p in stale if p.suffix == ".tar")
        if self.todo or stale:
            # From here until finalize, the folder holds no manifest: a reader never sees old
            # and new shards together as one build.
            (out / MANIFEST).unlink(missing_ok=True)
        for path in stale:
            path.unlink()
        for split_dir in {p.parent for p in stale}:
            if not any(split_dir.iterdir()):
                split_dir.rmdir()
        if self.changes:
            log.info(
                "inputs changed since the last run (%s samples); rebuilding the %d shards "
                "that hold them", self.changes, len(self.todo),
            )  # fmt: skip

    def _complete(self, task: ShardTask) -> dict | None:
        """The stats of a finished shard that can be kept as it is, else ``None``."""
        out = self.out
        stats = _read_stats(out / task.stats_name)
        tar = out / task.name
        if stats is None or not tar.is_file():
            return None
        if stats.get("inputs") != task.input_table() or stats.get("bytes") != tar.stat().st_size:
            return None
        if self.repair:
            from ..weights import sha256_file

            if sha256_file(tar) != stats.get("sha256"):
                log.info("%s: bytes differ from its stats; rebuilding it", task.name)
                return None
        return stats

    # -- run ----------------------------------------------------------------------------

    def run(self) -> None:
        """Build the shards :meth:`plan` chose; an OS refusal to write stops at once."""

        config, plan = self.config, self.shard_plan
        total = sum(len(t.refs) for t in self.todo)
        specs = list(dict.fromkeys(
            s for n, _ in self.stages
            for s in stage_class(n, self.registry).network_specs(self.configs[n])
        ))  # fmt: skip
        with contextlib.ExitStack() as running:
            if specs and self.todo and not config.scheduler:
                # One network process per device the workers will pick (each GPU of this
                # machine), fed by every worker; a remote cluster's workers cannot reach this
                # machine's sockets: they load their own copies.
                devices = sorted({task_device(t.device, t.index) for t in self.todo})
                plan.networks = running.enter_context(
                    network_processes(specs, devices, plan.networks)
                )
            with progress_bar(total=total, unit="img", desc="build", show=config.progress) as bar:
                self._run_pending(bar)
            self.networks = collect_stats(plan.networks)

    def _run_pending(self, bar) -> None:
        """Run shard tasks; when the executor itself breaks (a worker killed by the OOM
        killer), the shards not finished are run once more on a fresh executor, then
        reported."""
        config, plan, results = self.config, self.shard_plan, self.results
        # 0 workers: one process per CPU core, never more than there are shards to build.
        workers = max(1, min(config.workers or os.cpu_count() or 1, len(self.todo)))
        inline = workers == 1 and config.backend == "loky"
        if inline and self._stage_sets is None:
            self._stage_sets = StageSets(plan)
        pending = list(self.todo)
        error = ""
        for attempt in range(2):
            try:
                for stats in run_tasks(
                    _build_shard_safely,
                    [(plan, t, self._stage_sets, bar.update) if inline else (plan, t)
                     for t in pending],
                    workers=workers,
                    backend=config.backend,
                    scheduler=config.scheduler,
                    needs=lambda args: task_resources(args[1].device),
                    worker_wait=config.worker_wait,
                ):  # fmt: skip
                    if "fatal" in stats:
                        raise OutputError(stats["fatal"] + KEPT)
                    results[stats["shard"]] = stats
                    if "error" in stats:
                        self.shard_errors.append(stats)
                    else:
                        self.built += 1
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
            self.shard_errors.append(stats)

    # -- finalize -----------------------------------------------------------------------

    def finalize(self) -> BuildReport:
        """Write the failure report and the manifest; return the report.

        Raises
        ------
        BuildFailedError
            When shards failed (no manifest is written) or more samples failed than
            ``max_failure_rate`` allows (the manifest is written); ``.report`` holds the
            report.
        """
        config, out, results = self.config, self.out, self.results
        ordered = [results[t.name] for t in self.tasks if t.name in results]
        shard_errors = self.shard_errors
        report = BuildReport(
            out=str(out),
            attempted=self.attempted,
            shards_built=self.built,
            shards_skipped=len(self.tasks) - len(self.todo),
            shards_removed=self.removed,
            shard_errors=shard_errors,
            changes=self.changes,
            networks=self.networks,
        )
        report.failures = self.unsplit + [f for s in ordered for f in s.get("failures", [])]
        report.failures += [
            {"key": None, "stage": "shard", "error": s["error"], "shard": s["shard"]}
            for s in shard_errors
        ]
        report.written = sum(s.get("count", 0) for s in ordered)
        for s in ordered:
            for k, v in s.get("seconds", {}).items():
                report.seconds[k] = report.seconds.get(k, 0.0) + v
        with _output_errors():
            _write_failures(out / FAILURES, report.failures)
            if not shard_errors:
                write_json_atomic(out / MANIFEST, self._manifest(report))
        if shard_errors:
            raise BuildFailedError(
                f"{len(shard_errors)} shards failed (see {out / FAILURES}){KEPT}", report
            )
        if report.failure_rate > config.max_failure_rate:
            raise BuildFailedError(
                f"failure rate {report.failure_rate:.1%} exceeds max_failure_rate "
                f"{config.max_failure_rate:.1%} (see {out / FAILURES}; faces rejected by a "
                "quality gate do not count)",
                report,
            )
        return report

    def _manifest(self, report: BuildReport) -> dict:
        manifest = dict(self.state)
        manifest["build"] = asdict(self.config) | {"out": str(self.out)}
        manifest["maps"] = [n for n, emit in self.stages if emit and n != "resize"]
        manifest["fields"] = list(self.shard_plan.fields)
        manifest["derived_fields"] = list(self.shard_plan.unstored)
        manifest["field_specs"] = [spec.to_json() for spec in self.shard_plan.field_specs]
        manifest["splits"] = _split_table(self.tasks, self.results)
        manifest["attempted"] = report.attempted
        manifest["failed"] = len(report.failures)
        manifest["eyes_from"] = _eye_sources(self.results.values())
        manifest["rejected"] = report.rejected
        manifest = json.loads(json.dumps(manifest, default=str))
        manifest[CHECKSUM] = checksum(manifest)
        return manifest

    # -- end ----------------------------------------------------------------------------

    def close(self) -> None:
        """Release the stages' networks and GPU memory, then the folder's lock."""
        if self._stage_sets is not None:
            self._stage_sets.close()
            self._stage_sets = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> BuildSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def build(
    config: BuildConfig,
    source_config: SourceConfig,
    stage_configs: dict[str, Any] | None = None,
    *,
    overwrite: bool = False,
    resume: bool = True,
    repair: bool = False,
) -> BuildReport:
    """Build WebDataset shards from a source (see :class:`BuildSession` for the options).

    Returns
    -------
    BuildReport

    Raises
    ------
    FacedataError
        :class:`~facedata.errors.ConfigError` for bad or contradictory options, an output
        folder holding another build, or ``--device cuda`` without a GPU (all before anything
        is written); :class:`~facedata.io.lock.FolderLockedError` when another build holds the
        folder; :class:`~facedata.errors.OutputError` when the system refuses a write;
        :class:`~facedata.errors.BuildFailedError` when shards failed or more samples failed
        than ``config.max_failure_rate``.
    """
    t_start = time.perf_counter()
    with BuildSession(
        config, source_config, stage_configs, overwrite=overwrite, resume=resume, repair=repair
    ) as session:
        session.plan()
        session.run()
        try:
            report = session.finalize()
        except BuildFailedError as exc:
            exc.report.seconds["total"] = time.perf_counter() - t_start
            raise
    report.seconds["total"] = time.perf_counter() - t_start
    return report


def _absolute(path: str | None) -> str | None:
    return str(Path(path).expanduser().resolve()) if path else None


def _build_shard_safely(
    plan: Plan, task: ShardTask, stage_sets: StageSets | None = None, on_sample=None
) -> dict:
    """Run a shard task; an unexpected crash is retried once, then reported, never raised.

    An OS refusal to write into the build folder is returned as ``fatal``: retrying it, or
    the next shard, cannot succeed.
    """
    error = None
    for _attempt in range(2):
        try:
            return build_shard(plan, task, stage_sets, on_sample)
        except OSError as exc:
            inside = exc.filename is None or str(exc.filename).startswith(plan.out)
            if exc.errno in _FATAL_ERRNOS and inside:
                message = OutputError.from_os_error(exc, path=Path(plan.out) / task.name)
                return {"shard": task.name, "fatal": str(message)}
            error = _shard_failed(task, exc)
        except Exception as exc:  # a bug or resource failure in this shard only
            error = _shard_failed(task, exc)
    return {"shard": task.name, "split": task.split, "attempted": len(task.refs), "error": error}


def _shard_failed(task: ShardTask, exc: Exception) -> str:
    log.warning("shard %s failed: %s: %s", task.name, type(exc).__name__, exc)
    log.debug("shard %s failed", task.name, exc_info=True)  # the traceback only with -v
    return f"{type(exc).__name__}: {exc}"


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


def _eye_sources(results) -> dict[str, int]:
    """Samples written per source of their eye centres (``landmarks``, ``annotations`` or
    ``none``), over the shards' stats."""
    total: dict[str, int] = {}
    for stats in results:
        for source, n in stats.get("eyes_from", {}).items():
            total[source] = total.get(source, 0) + n
    return dict(sorted(total.items()))
