"""One process per device that runs a build's device jobs for every CPU worker.

A build with device jobs (networks, and the colour smoothing on the torch route; see
:mod:`facedata.pipeline.networks`) starts one network process per device it uses (each GPU,
or the CPU when there is none). The process loads each job once, listens on a local socket,
and serves requests from every worker: a request is one stage's batch of images; requests
that arrive together are merged into full passes of the build's network batch, so sixteen
workers feed one model copy (and one CUDA context) per GPU instead of sixteen. GPU memory is
then bounded by one copy of the weights plus the activations of one pass, whatever the number
of workers.

Workers keep the CPU maps (masks, sketch clean-up, colour medians, HOG); they block only while
their own batch is in the process. The process ends when the build closes its standard input,
or when the build itself dies.

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


class RemoteNetwork:
    """A device job served by a network process; called like the
    :class:`~facedata.pipeline.networks.LocalJob` of its spec. Without a spec, it only asks
    for :meth:`stats`."""

    def __init__(self, address: Address, spec: NetworkSpec | SmoothingSpec | None = None):
        self.spec = spec
        self.address = address
        self._conn = Client(address.path, family="AF_UNIX", authkey=address.authkey)
        self.family = self._ask(("info", spec.key)) if spec else None

    def _ask(self, message: tuple):
        try:
            self._conn.send(message)
            status, payload = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise FacedataError(
                f"the network process at {self.address.path} stopped ({exc}); see the build log"
            ) from exc
        if status == "ok":
            return payload
        kind, text = payload
        error = getattr(errors, kind, None)
        if isinstance(error, type) and issubclass(error, FacedataError):
            raise error(text)
        raise RuntimeError(f"network process: {kind}: {text}")

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self._ask(("run", self.spec.key, np.ascontiguousarray(images)))

    def stats(self) -> dict:
        """What the process has done: images, forward passes, padding, peak GPU memory."""
        return self._ask(("stats", None))

    def close(self) -> None:
        self._conn.close()


# --- the process ------------------------------------------------------------------------------


class _Server:
    """The serving loop: reader threads queue requests, the main thread runs merged batches."""

    def __init__(self, networks: dict[str, LocalJob], batch: int, gather_s: float):
        self.networks = networks
        self.batch = batch
        self.gather_s = gather_s
        self.requests: queue.Queue = queue.Queue()
        self.counts = {"images": 0, "passes": 0, "padded": 0, "requests": 0}

    def read(self, conn) -> None:
        """Queue ``run`` requests of one worker; answer ``info`` and ``stats`` at once."""
        while True:
            try:
                kind, key, *payload = conn.recv()
            except (EOFError, OSError):
                return
            if kind == "run":
                self.requests.put((conn, key, payload[0]))
            elif kind == "info":
                net = self.networks.get(key)
                conn.send(("ok", net.family) if net else ("error", ("ConfigError", key)))
            else:
                conn.send(("ok", self.stats()))

    def stats(self) -> dict:
        import torch

        peak = {
            str(net.device): torch.cuda.max_memory_allocated(net.device)
            for net in self.networks.values()
            if net.device.type == "cuda"
        }
        return dict(self.counts, peak_bytes=peak, batch=self.batch)

    def serve(self) -> None:
        while True:
            pending = [self.requests.get()]
            count = len(pending[0][2])
            deadline = time.monotonic() + self.gather_s
            while count < self.batch:
                try:
                    item = self.requests.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                pending.append(item)
                count += len(item[2])
            groups: dict[tuple, list] = {}
            for item in pending:
                groups.setdefault((item[1], item[2].shape[1:]), []).append(item)
            for (key, _), items in groups.items():
                self._run(key, items)

    def _run(self, key: str, items: list) -> None:
        try:
            net = self.networks[key]
            images = np.concatenate([images for _, _, images in items])
            out = net(images)
        except Exception as exc:  # answered to each sender; the stage retries per sample
            for conn, _, _ in items:
                self._reply(conn, ("error", (type(exc).__name__, str(exc))))
            return
        n = len(images)
        passes = -(-n // net.batch)
        self.counts["images"] += n
        self.counts["passes"] += passes
        self.counts["padded"] += passes * net.batch - n
        self.counts["requests"] += len(items)
        start = 0
        for conn, _, part in items:
            self._reply(conn, ("ok", out[start : start + len(part)]))
            start += len(part)

    @staticmethod
    def _reply(conn, message) -> None:
        with contextlib.suppress(OSError):  # a worker that went away needs no answer
            conn.send(message)


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
        batch = max(net.batch for net in networks.values())
        listener = Listener(
            settings["path"], family="AF_UNIX", authkey=bytes.fromhex(settings["authkey"])
        )
    except Exception as exc:
        print(json.dumps({"error": [type(exc).__name__, str(exc)]}), flush=True)
        return
    server = _Server(networks, batch, settings["gather_s"])

    def accept() -> None:
        while True:
            conn = listener.accept()
            threading.Thread(target=server.read, args=(conn,), daemon=True).start()

    def watch_parent() -> None:
        sys.stdin.read()  # returns when the build closes the pipe or dies
        os._exit(0)

    threading.Thread(target=accept, daemon=True).start()
    threading.Thread(target=watch_parent, daemon=True).start()
    print(json.dumps({"ready": True}), flush=True)
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
