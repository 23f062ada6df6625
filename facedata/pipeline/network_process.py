"""One process per device that runs a build's device jobs for every CPU worker.

A build with device jobs (networks, and the colour smoothing on the torch route; see
:mod:`facedata.pipeline.networks`) starts one network process per device it uses (each GPU,
or the CPU when there is none). The process loads each job once, listens on a local socket,
and serves requests from every worker: a request is one stage's batch of images; requests
for the same job are merged into full passes of the build's network batch, so sixteen
workers feed one model copy (and one CUDA context) per GPU instead of sixteen. GPU memory is
then bounded by one copy of the weights plus the activations of one pass, whatever the number
of workers.

Workers keep the CPU maps (masks, sketch clean-up, colour medians, HOG); they block only while
their own batch is in the process. The process ends when the build closes its standard input,
or when the build itself dies.

Its host work does not wait for the device, nor the device for it: each connection's thread
receives a worker's images straight into an array and sends the answer back from the
answer's own memory (raw bytes after a small header, no pickling; socket I/O releases the
GIL), a gather thread merges the next pass while one runs, and the main thread only runs
passes. So the process serves about ``1 / max(host, device)`` images per second rather than
``1 / (host + device)`` (``benchmarks/network_process.py`` measures both).

Run by :func:`network_processes`; not a command for users.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener

import numpy as np

from .. import errors
from ..errors import FacedataError
from .networks import LocalJob, NetworkRuntime, NetworkSpec, SmoothingSpec, job_spec, load_job

log = logging.getLogger(__name__)

#: How long a forward pass waits for more workers' images before running part-full (seconds).
GATHER_S = 0.005


@dataclass(frozen=True)
class Address:
    """Where a network process listens: a local socket path and its key (picklable)."""

    path: str
    authkey: bytes


# Images and maps travel as raw bytes after a small pickled header (shape, dtype): received
# straight into their array, sent from it, with no pickling (pickling a 512² float32 batch
# costs more than sending it) and with the GIL released for the copy.


def _write_array(conn, array: np.ndarray) -> None:
    """Send ``array``'s bytes on ``conn`` (C order)."""
    view = memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    while view:
        view = view[os.write(conn.fileno(), view) :]


def _read_array(conn, shape: tuple, dtype: str) -> np.ndarray:
    """Receive an array of ``shape`` and ``dtype`` sent by :func:`_write_array`."""
    array = np.empty(shape, dtype)
    view = memoryview(array.reshape(-1).view(np.uint8))
    while view:
        n = os.readv(conn.fileno(), [view])
        if n == 0:
            raise EOFError("the connection closed in the middle of an array")
        view = view[n:]
    return array


class RemoteNetwork:
    """A device job served by a network process; called like the
    :class:`~facedata.pipeline.networks.LocalJob` of its spec. Without a spec, it only asks
    for :meth:`stats`."""

    def __init__(self, address: Address, spec: NetworkSpec | SmoothingSpec | None = None):
        self.spec = spec
        self.address = address
        self._conn = Client(address.path, family="AF_UNIX", authkey=address.authkey)
        self.family = self._ask(("info", spec.key)) if spec else None

    def _ask(self, message: tuple, images: np.ndarray | None = None):
        self._send(message, images)
        return self._answer()

    def _send(self, message: tuple, images: np.ndarray | None = None) -> None:
        try:
            self._conn.send(message)
            if images is not None:
                _write_array(self._conn, images)
        except OSError as exc:
            raise self._stopped(exc) from exc

    def _answer(self):
        try:
            status, payload = self._conn.recv()
            if status == "array":
                return _read_array(self._conn, *payload)
        except (EOFError, OSError) as exc:
            raise self._stopped(exc) from exc
        if status == "ok":
            return payload
        kind, text = payload
        error = getattr(errors, kind, None)
        if isinstance(error, type) and issubclass(error, FacedataError):
            raise error(text)
        raise RuntimeError(f"network process: {kind}: {text}")

    def _stopped(self, exc: Exception) -> FacedataError:
        return FacedataError(
            f"the network process at {self.address.path} stopped ({exc}); see the build log"
        )

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.ascontiguousarray(images)
        return self._ask(("run", self.spec.key, images.shape, images.dtype.str), images)

    def stats(self) -> dict:
        """What the process has done: images, forward passes, padding, peak GPU memory."""
        return self._ask(("stats", None))

    def close(self) -> None:
        self._conn.close()


# --- the process ------------------------------------------------------------------------------


class _Request:
    """One worker's batch for one job, and the slot its answer comes back in."""

    __slots__ = ("key", "images", "answer")

    def __init__(self, key: str, images: np.ndarray):
        self.key = key
        self.images = images
        self.answer: queue.SimpleQueue = queue.SimpleQueue()


@dataclass(frozen=True)
class _Ready:
    """Put on the request queue by the device thread when it waits for work, having taken
    ``taken`` passes: the gatherer may then run a part-full pass at once."""

    taken: int


@dataclass(frozen=True)
class _Pass:
    """Requests for one job merged into one array, padded to whole passes of its batch."""

    job: LocalJob
    requests: list
    images: np.ndarray
    count: int


class _Server:
    """Three kinds of thread, so that a pass's host work overlaps another pass's device work:

    - one thread per connection receives a worker's request straight into an array, queues
      it, and sends the answer back (raw bytes, like the request; socket I/O releases the GIL);
    - the gather thread merges queued requests into padded passes while a pass is running;
    - the main thread runs the passes, one at a time, and hands each request its answer.
    """

    def __init__(self, networks: dict[str, LocalJob], batch: int, gather_s: float):
        self.networks = networks
        self.batch = batch
        self.gather_s = gather_s
        self.requests: queue.SimpleQueue = queue.SimpleQueue()
        # One prepared pass waits while one runs: the next pass's copy is done before the
        # device is free, and host memory stays bounded.
        self.passes: queue.Queue = queue.Queue(maxsize=1)
        self.counts = {"images": 0, "passes": 0, "padded": 0, "requests": 0}

    def listen(self, listener: Listener) -> None:
        """Accept connections, each served by its own daemon thread."""

        def accept() -> None:
            while True:
                try:
                    conn = listener.accept()
                except (AuthenticationError, OSError) as exc:  # one bad client, not the rest
                    log.warning("network process: a connection failed: %s", exc)
                    continue
                threading.Thread(target=self.link, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()

    def link(self, conn) -> None:
        """Serve one worker: its requests one at a time, each answered before the next."""
        with conn:
            while True:
                try:
                    kind, key, *payload = conn.recv()
                    if kind == "run":
                        request = _Request(key, _read_array(conn, *payload))
                        self.requests.put(request)
                        answer = request.answer.get()
                    elif kind == "info":
                        net = self.networks.get(key)
                        answer = ("ok", net.family) if net else ("error", ("ConfigError", key))
                    else:
                        answer = ("ok", self.stats())
                    if isinstance(answer, np.ndarray):
                        conn.send(("array", (answer.shape, answer.dtype.str)))
                        _write_array(conn, answer)
                    else:
                        conn.send(answer)
                except (EOFError, OSError):  # the worker went away
                    return

    def stats(self) -> dict:
        import torch

        peak = {
            str(net.device): torch.cuda.max_memory_allocated(net.device)
            for net in self.networks.values()
            if net.device.type == "cuda"
        }
        return dict(self.counts, peak_bytes=peak, batch=self.batch)

    def serve(self) -> None:
        """Run passes as the gather thread prepares them; never returns."""
        threading.Thread(target=self.gather, daemon=True).start()
        taken = 0
        while True:
            try:
                work = self.passes.get_nowait()
            except queue.Empty:
                self.requests.put(_Ready(taken))
                work = self.passes.get()
            taken += 1
            self.run(work)

    def gather(self) -> None:
        """Merge requests for the same job into passes: a full pass at once; a part-full one,
        the oldest first, once it has waited ``gather_s`` for more and the device is free
        (while a pass runs, more requests may fill it)."""
        groups: dict[tuple, list[_Request]] = {}  # oldest first
        since: dict[tuple, float] = {}
        put, free = 0, False
        while True:
            ripe = None
            wait = None
            if groups and free:
                ripe = next(iter(groups))
                wait = since[ripe] + self.gather_s - time.monotonic()
            if ripe is None or wait > 0:
                try:
                    item = self.requests.get(timeout=wait)
                except queue.Empty:
                    continue
                if isinstance(item, _Ready):
                    free = item.taken == put  # else stale: a pass put since is on its way
                    continue
                ripe = (item.key, item.images.shape[1:], item.images.dtype.str)
                if ripe not in groups:
                    groups[ripe], since[ripe] = [], time.monotonic()
                groups[ripe].append(item)
                if sum(len(r.images) for r in groups[ripe]) < self.batch:
                    continue
            del since[ripe]
            work = self.prepare(groups.pop(ripe))
            if work is not None:
                self.passes.put(work)
                put, free = put + 1, False

    def prepare(self, requests: list[_Request]) -> _Pass | None:
        """One array of the requests' images, padded with blank images to whole passes; None
        (each request answered with the error) when they cannot be run."""
        try:
            job = self.networks[requests[0].key]
            count = sum(len(r.images) for r in requests)
            first = requests[0].images
            images = np.empty((-(-count // job.batch) * job.batch, *first.shape[1:]), first.dtype)
            start = 0
            for r in requests:
                images[start : start + len(r.images)] = r.images
                start += len(r.images)
            images[count:] = 0
        except Exception as exc:
            self.fail(requests, exc)
            return None
        return _Pass(job, requests, images, count)

    def run(self, work: _Pass) -> None:
        try:
            out = work.job(work.images)
        except Exception as exc:  # answered to each sender; the stage retries per sample
            self.fail(work.requests, exc)
            return
        passes = len(work.images) // work.job.batch
        self.counts["images"] += work.count
        self.counts["passes"] += passes
        self.counts["padded"] += len(work.images) - work.count
        self.counts["requests"] += len(work.requests)
        start = 0
        for r in work.requests:
            r.answer.put(out[start : start + len(r.images)])
            start += len(r.images)

    @staticmethod
    def fail(requests: list[_Request], exc: Exception) -> None:
        for r in requests:
            r.answer.put(("error", (type(exc).__name__, str(exc))))


def _main() -> None:
    """Entry point of the process: a JSON line of settings on stdin, ``ready`` on stdout."""
    settings = json.loads(sys.stdin.readline())
    try:
        networks = {}
        for fields, source in zip(settings["specs"], settings["files"]):
            spec = job_spec(fields)
            networks[spec.key] = load_job(
                spec,
                settings["device"],
                batch=settings["batch"],
                precision=settings["precision"],
                source=source,
            )
        listener = Listener(
            settings["path"], family="AF_UNIX", authkey=bytes.fromhex(settings["authkey"])
        )
    except Exception as exc:
        print(json.dumps({"error": [type(exc).__name__, str(exc)]}), flush=True)
        return

    def watch_parent() -> None:
        sys.stdin.read()  # returns when the build closes the pipe or dies
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    print(json.dumps({"ready": True}), flush=True)
    serve(networks, listener, gather_s=settings["gather_s"])


def serve(jobs: dict[str, LocalJob], listener: Listener, *, gather_s: float = GATHER_S) -> None:
    """Serve ``jobs`` (by key) to the clients of ``listener`` from this process, forever.

    What a network process runs once its jobs are loaded; a benchmark or a test calls it in a
    process of its own with jobs of its own.
    """
    server = _Server(jobs, max(job.batch for job in jobs.values()), gather_s)
    server.listen(listener)
    server.serve()


def collect_stats(runtime: NetworkRuntime) -> dict[str, dict]:
    """Each network process's :meth:`RemoteNetwork.stats`, by device."""
    out = {}
    for device, address in runtime.processes:
        link = RemoteNetwork(address)
        out[device] = link.stats()
        link.close()
    return out


# --- starting processes -----------------------------------------------------------------------


@contextlib.contextmanager
def network_processes(
    specs: Iterable[NetworkSpec | SmoothingSpec],
    devices: Iterable[str],
    runtime: NetworkRuntime,
    *,
    gather_s: float = GATHER_S,
) -> Iterator[NetworkRuntime]:
    """Start one network process per device; yield ``runtime`` with their addresses.

    Parameters
    ----------
    specs : iterable of NetworkSpec or SmoothingSpec
        The jobs every process loads.
    devices : iterable of str
        Distinct devices (``cuda:0``, ``cuda:1`` ... or ``cpu``/``auto``), one process each.
    runtime : NetworkRuntime
        Batch and precision of the forward passes.
    gather_s : float
        How long a pass waits for more images before running with what it has.

    Raises
    ------
    MissingWeightsError
        When a network's weights are not on this machine.
    FacedataError
        When a process cannot load its networks (the same error as loading them here).
    """
    specs = list(specs)
    # Resolved here, where the catalogue was checked: the processes read these very files.
    files = [s.weight_file() for s in specs]
    folder = tempfile.mkdtemp(prefix="facedata-net-")
    started: list[tuple[str, subprocess.Popen, Address]] = []
    try:
        for i, device in enumerate(dict.fromkeys(devices)):
            address = Address(os.path.join(folder, f"{i}.sock"), secrets.token_bytes(16))
            settings = {
                "specs": [s.settings() for s in specs],
                "files": files,
                "device": device,
                "batch": runtime.batch,
                "precision": runtime.precision,
                "path": address.path,
                "authkey": address.authkey.hex(),
                "gather_s": gather_s,
            }
            proc = subprocess.Popen(
                # -c, not -m: the module is imported once, as itself
                [sys.executable, "-c", f"from {__name__} import _main; _main()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            proc.stdin.write(json.dumps(settings) + "\n")
            proc.stdin.flush()
            started.append((device, proc, address))
        for device, proc, _ in started:  # all load at once; wait for each
            line = proc.stdout.readline()
            answer = json.loads(line) if line.strip() else {"error": ["RuntimeError", "exited"]}
            if "error" in answer:
                kind, text = answer["error"]
                error = getattr(errors, kind, None)
                if isinstance(error, type) and issubclass(error, FacedataError):
                    raise error(text)
                raise FacedataError(f"the network process for {device} failed: {kind}: {text}")
        log.info("network processes: %s", ", ".join(d for d, _, _ in started))
        yield replace(runtime, processes=tuple((d, a) for d, _, a in started))
    finally:
        for _, proc, _ in started:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        for _, proc, _ in started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)
