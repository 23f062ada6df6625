"""Running shard tasks: in this process, on local processes (loky), or on Dask or Ray.

Every backend goes through joblib, so a task function and its arguments are the same
whatever runs them; results come back as each task finishes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import ConfigError, require

BACKENDS = ("loky", "dask", "ray")


@contextlib.contextmanager
def _engine(backend: str, scheduler: str | None, workers: int):
    if backend == "loky":
        yield "loky"
    elif backend == "dask":
        distributed = require("dask.distributed", "dask")
        if scheduler:
            client = distributed.Client(scheduler)
            cluster = None
        else:
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = distributed.Client(cluster)
        try:
            yield "dask"
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif backend == "ray":
        ray = require("ray", "ray")
        from ray.util.joblib import register_ray

        register_ray()
        started = not ray.is_initialized()
        if started:
            ray.init(
                address=scheduler,
                num_cpus=None if scheduler else workers,
                include_dashboard=False,
                log_to_driver=False,
            )
        try:
            yield "ray"
        finally:
            if started:
                ray.shutdown()
    else:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend!r}")


def run_tasks(
    fn: Callable[..., Any],
    tasks: Iterable[tuple],
    *,
    workers: int,
    backend: str = "loky",
    scheduler: str | None = None,
) -> Iterator[Any]:
    """Yield ``fn(*task)`` for every task, in completion order.

    One worker with the local backend runs in this process (no pickling, easy debugging).
    """
    tasks = list(tasks)
    if workers <= 1 and backend == "loky":
        for task in tasks:
            yield fn(*task)
        return
    import joblib

    with _engine(backend, scheduler, workers) as name:
        with joblib.parallel_config(backend=name, n_jobs=workers):
            active, _ = joblib.parallel.get_active_backend()
            if active.supports_return_generator:
                parallel = joblib.Parallel(return_as="generator_unordered")
                yield from parallel(joblib.delayed(fn)(*task) for task in tasks)
                return
            # Ray's joblib backend returns whole lists only: submit a few rounds of work at a
            # time, so results (and the progress bar) still arrive during the build.
            step = 2 * workers
            for start in range(0, len(tasks), step):
                chunk = tasks[start : start + step]
                yield from joblib.Parallel()(joblib.delayed(fn)(*task) for task in chunk)
