"""Running shard tasks: in this process, on local processes (loky), or on Dask or Ray.

Local processes go through joblib. The cluster backends use their own clients, because
joblib's Dask and Ray backends can neither ask for a GPU per task nor notice that no worker
is left (a build whose workers all died used to wait forever). Whatever runs them, a task
function and its arguments are the same, and results come back as each task finishes.

Placement is one function, :func:`task_resources`: given a task's device it says what the
task needs from the worker that runs it, and each backend turns that into its own request
(Dask worker resources, Ray ``num_gpus``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ClusterError, ConfigError, require

BACKENDS = ("loky", "dask", "ray")

#: Seconds a scheduler or cluster address has to answer before the build gives up.
CONNECT_TIMEOUT = 10.0

#: Loggers of the cluster libraries, quiet (WARNING) unless the root logger is at DEBUG (-v).
CLUSTER_LOGGERS = ("distributed", "dask", "ray", "tornado", "bokeh")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resources:
    """What one task needs from the worker that runs it.

    Attributes
    ----------
    gpus : int
        GPUs the task holds while it runs: Dask's ``GPU`` worker resource, Ray's
        ``num_gpus``. A worker starts only as many such tasks at once as it has GPUs.
    """

    gpus: int = 0


def task_resources(device: str) -> Resources:
    """The resources of a task whose network stages run on ``device``.

    ``cuda`` and ``cuda:i`` ask for one GPU; ``cpu`` asks for none, and so does ``auto``, which
    uses the GPU of the worker it lands on when that worker has one (so a cluster without GPU
    resources still runs it). The worker picks the GPU among those it sees itself
    (:func:`facedata.device.task_device`), never from the driver's count.

    >>> task_resources("cuda"), task_resources("auto")
    (Resources(gpus=1), Resources(gpus=0))
    """
    return Resources(gpus=1 if device.startswith("cuda") else 0)


def quiet_cluster_logs() -> None:
    """Keep the cluster libraries' INFO lines out of a build's output unless ``-v`` was given."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in CLUSTER_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend!r}")


def probe(backend: str, scheduler: str | None) -> None:
    """Connect to the cluster at ``scheduler`` and disconnect, before any planning or I/O.

    Raises
    ------
    ClusterError
        Within :data:`CONNECT_TIMEOUT` seconds, when the address does not answer or refuses
        the connection (a wrong address, a firewall, a missing or wrong Ray token).
    """
    _check_backend(backend)
    if backend == "loky" or not scheduler:
        return
    with _connect(backend, scheduler, 1, needs_gpus=False):
        pass


#: Per backend: what listens at ``--scheduler``, and what to check when it does not answer.
_ADVICE = {
    "dask": ("the Dask scheduler", "tcp://HOST:8786", "`dask scheduler`"),
    "ray": ("the Ray cluster", "HOST:6379", "`ray start --head`"),
}

#: Ray refuses a wrong token only after its client has retried for about 20 s (one C++
#: warning a second), then reports a failed connection: the advice names the token too.
_RAY_TOKEN_ADVICE = (
    "; with token authentication (RAY_AUTH_MODE=token), RAY_AUTH_TOKEN must hold the "
    "cluster's token"
)


def _unreachable(backend: str, address: str, reason: str) -> ClusterError:
    what, form, command = _ADVICE[backend]
    return ClusterError(
        f"cannot reach {what} at {address} ({reason}); check --scheduler ({form}) and that "
        f"{command} runs there and accepts this machine"
    )


def _check_port(backend: str, address: str) -> None:
    """Fail at once when nothing listens at a ``[scheme://]host:port`` address.

    The clients retry a refused connection until their timeout; one plain TCP connection
    tells a wrong address or a stopped scheduler in milliseconds.
    """
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", a Unix socket, ...: left to the client
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise _unreachable(backend, address, exc.strerror or type(exc).__name__) from None


@contextlib.contextmanager
def _connect(backend: str, scheduler: str | None, workers: int, *, needs_gpus: bool):
    """A ``_Pool`` on the cluster at ``scheduler``, or on one started here for the build."""
    quiet_cluster_logs()
    if scheduler:
        _check_port(backend, scheduler)
    if backend == "dask":
        with _dask_client(scheduler, workers, needs_gpus) as client:
            yield _DaskPool(client, scheduler or "the local Dask cluster")
    else:
        with _ray_session(scheduler, workers):
            yield _RayPool(scheduler or "the local Ray instance")


def _dask_connect(distributed, scheduler: str):
    """A client of the scheduler at ``scheduler``, or a ClusterError saying what is wrong."""
    try:
        return distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (TypeError, ValueError) as exc:  # distributed's words for "tls:// without certificates"
        if scheduler.startswith("tls://"):
            error = ClusterError(
                f"the Dask scheduler at {scheduler} uses TLS and this machine has no "
                "certificates for it: set DASK_DISTRIBUTED__COMM__TLS__CA_FILE, "
                "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and "
                "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY (or distributed.comm.tls in the Dask "
                "config)"
            )
        else:
            error = _unreachable("dask", scheduler, f"{type(exc).__name__}: {exc}")
    except (OSError, TimeoutError) as exc:  # it listens but does not speak (TLS, a proxy)
        reason = f"the connection failed: {type(exc).__name__}; a TLS scheduler needs tls://"
        error = _unreachable("dask", scheduler, reason)
    # The half-made Client sits in reference cycles. Left to a later collection, its __del__
    # may run on another Client's IO-loop thread and block that loop for good: collect it here.
    gc.collect()
    raise error


@contextlib.contextmanager
def _dask_client(scheduler: str | None, workers: int, needs_gpus: bool):
    distributed = require("dask.distributed", "dask")
    quiet_cluster_logs()  # importing distributed set its loggers to INFO
    cluster = None
    if scheduler:
        client = _dask_connect(distributed, scheduler)
    else:
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.WARNING,
            resources={"GPU": 1} if needs_gpus else None,
        )
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _ray_session(scheduler: str | None, workers: int):
    ray = require("ray", "ray")
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(
                address=scheduler,
                num_cpus=None if scheduler else workers,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except getattr(ray.exceptions, "AuthenticationError", ()) as exc:  # Ray with token auth
            raise ClusterError(
                f"the Ray cluster at {scheduler} refused the connection: {exc.message}; set "
                "RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN (or "
                "~/.ray/auth_token) on this machine"
            ) from None
        except (ConnectionError, TimeoutError) as exc:
            error = _unreachable("ray", scheduler, str(exc))
            raise ClusterError(str(error) + _RAY_TOKEN_ADVICE) from None
    try:
        yield
    finally:
        if started:
            ray.shutdown()


class _DaskPool:
    """Tasks as Dask futures; GPU tasks ask for the ``GPU`` worker resource."""

    def __init__(self, client, where: str):
        self.client = client
        self.where = where

    def submit(self, fn, args: tuple, needs: Resources):
        resources = {"GPU": needs.gpus} if needs.gpus else None
        return self.client.submit(fn, *args, pure=False, resources=resources)

    def wait(self, handles: set, timeout: float) -> set:
        distributed = require("dask.distributed", "dask")
        try:
            done, _ = distributed.wait(handles, timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set()
        return set(done)

    def result(self, handle, timeout: float):
        return handle.result(timeout=timeout)

    def workers(self, needs: Resources) -> int:
        """Workers now able to run a task needing ``needs``."""
        info = self.client.scheduler_info(n_workers=-1)["workers"].values()
        return sum(1 for w in info if w.get("resources", {}).get("GPU", 0) >= needs.gpus)

    def cancel(self, handles: set) -> None:
        self.client.cancel(list(handles))

    def hint(self, needs: Resources) -> str:
        extra = " --resources GPU=1" if needs.gpus else ""
        return f"start workers (`dask worker {self.where} --nthreads 1{extra}`)"


class _RayPool:
    """Tasks as Ray remote calls; GPU tasks ask for ``num_gpus``."""

    def __init__(self, where: str):
        self.ray = require("ray", "ray")
        self.where = where
        self.remotes: dict = {}

    def submit(self, fn, args: tuple, needs: Resources):
        if needs.gpus not in self.remotes:
            # Through a Python function: Ray cannot make a builtin (os.getpid) remote.
            self.remotes[needs.gpus] = self.ray.remote(num_cpus=1, num_gpus=needs.gpus)(_call)
        return self.remotes[needs.gpus].remote(fn, *args)

    def wait(self, handles: set, timeout: float) -> set:
        done, _ = self.ray.wait(list(handles), num_returns=1, timeout=timeout)
        return set(done)

    def result(self, handle, timeout: float):
        return self.ray.get(handle, timeout=timeout)

    def workers(self, needs: Resources) -> int:
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        key = "GPU" if needs.gpus else "CPU"
        return sum(1 for n in nodes if n.get("Resources", {}).get(key, 0) >= max(needs.gpus, 1))

    def cancel(self, handles: set) -> None:
        for handle in handles:
            self.ray.cancel(handle, force=True)

    def hint(self, needs: Resources) -> str:
        extra = " --num-gpus 1" if needs.gpus else ""
        return f"add nodes (`ray start --address {self.where}{extra}`)"


def _call(fn, *args):
    return fn(*args)


def run_tasks(
    fn: Callable[..., Any],
    tasks: Iterable[tuple],
    *,
    workers: int,
    backend: str = "loky",
    scheduler: str | None = None,
    needs: Callable[[tuple], Resources] | None = None,
    worker_wait: float = 60.0,
) -> Iterator[Any]:
    """Yield ``fn(*task)`` for every task, in completion order.

    One worker with the local backend runs in this process (no pickling, easy debugging).

    Parameters
    ----------
    fn : callable
        The task function; it and its arguments must pickle for every backend but the inline
        one.
    tasks : iterable of tuple
        The arguments of each call.
    workers : int
        Tasks running at once.
    backend : str
        ``loky``, ``dask`` or ``ray``.
    scheduler : str or None
        A Dask scheduler or Ray cluster address; ``None`` starts a local one.
    needs : callable or None
        Task → its :class:`Resources` (``None``: no GPU for any task).
    worker_wait : float
        On a cluster, how long to wait when no worker able to run the remaining tasks is left,
        before failing.

    Raises
    ------
    ClusterError
        When the cluster does not answer, or has had no worker for the remaining tasks for
        ``worker_wait`` seconds. The tasks finished until then have yielded their results.
    """
    _check_backend(backend)
    tasks = list(tasks)
    needs = needs or (lambda _task: Resources())
    if backend == "loky":
        yield from _run_local(fn, tasks, workers)
        return
    wanted = [needs(t) for t in tasks]
    with _connect(backend, scheduler, workers, needs_gpus=any(r.gpus for r in wanted)) as pool:
        yield from _drive(pool, fn, list(zip(tasks, wanted)), workers, worker_wait)


def _run_local(fn, tasks: list[tuple], workers: int) -> Iterator[Any]:
    if workers <= 1:
        for task in tasks:
            yield fn(*task)
        return
    import joblib

    parallel = joblib.Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
    yield from parallel(joblib.delayed(fn)(*task) for task in tasks)


def _drive(pool, fn, queue: list[tuple[tuple, Resources]], workers: int, worker_wait: float):
    """Keep ``workers`` tasks in flight on ``pool``; yield results as they finish."""
    queue = list(reversed(queue))  # pop() from the end takes tasks in order
    running: dict = {}
    alone_since = None
    while queue or running:
        while queue and len(running) < max(1, workers):
            args, resources = queue.pop()
            running[pool.submit(fn, args, resources)] = resources
        for handle in pool.wait(set(running), timeout=1.0):
            try:
                result = pool.result(handle, timeout=CONNECT_TIMEOUT)
            except TimeoutError:
                # Finished, but its worker died before the result was fetched: the cluster runs
                # the task again, so it is still running (and needs a worker).
                continue
            running.pop(handle)
            yield result
            alone_since = None
        if not running:
            continue
        resources = max(running.values(), key=lambda r: r.gpus)
        if pool.workers(resources):
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
            log.warning(
                "no worker on %s can run the remaining tasks; waiting up to %.0f s",
                pool.where,
                worker_wait,
            )
        elif time.monotonic() - alone_since > worker_wait:
            pool.cancel(set(running))
            left = len(running) + len(queue)
            raise ClusterError(
                f"no worker on {pool.where} for {worker_wait:.0f} s with {left} shard tasks "
                f"left: {pool.hint(resources)}, then run the same command again (finished "
                "shards are kept), or raise --worker-wait"
            )
