"""The network process's host work against its device work, and how much of it overlaps.

A build's workers send each batch of images to the network process three times, as its
stages do: to HED (RGB in, float32 edges out), to BiSeNet (RGB in, uint8 labels out) and to
the colour smoothing (RGB in, uint8 RGB out). Stand-in jobs with the real jobs' shapes and
dtypes replace the networks, so the device's share is known exactly. Prints, in one run:

(a) host work alone: the process serving jobs that answer zeros at once, fed by N client
    processes (each a worker sending ``--request`` images at a time): ms per sample;
(b) device work alone: jobs whose pass sleeps ``--device-ms`` per image of the pass (the GIL
    released, as a CUDA kernel releases it), called in this process: ms per sample;
(c) the process serving the sleeping jobs to the same clients: samples/s, against the serial
    bound 1 / (a + b) (no overlap) and the ideal 1 / max(a, b) (full overlap).

The default ``--device-ms`` are the projected H100 times of docs/performance.md (HED 0.5 ms,
BiSeNet 0.1 ms, the colour smoothing 1.6 ms per 512² image, the middle of 1.1-2.2 ms). Passes
are of 16, a worker's batch, so that every request of the default 2 clients fills one, as the
requests of a 16-worker GPU build mostly fill its passes of 32; with passes of 32, 2 clients
rarely ask for the same job at once and half of each pass is padding.

    PYTHONPATH=benchmarks:. python benchmarks/network_process.py
    PYTHONPATH=benchmarks:. python benchmarks/network_process.py --quick   # seconds, 64²
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np

from facedata.pipeline.network_process import Address, RemoteNetwork, serve
from facedata.pipeline.networks import LocalJob

#: Each job's answer to ``(N, H, W, 3)`` uint8 images: trailing shape and dtype.
ANSWERS = {
    "hed": ((), np.float32),  # edge probabilities (N, H, W)
    "parsing": ((), np.uint8),  # label ids (N, H, W)
    "color": ((3,), np.uint8),  # smoothed RGB (N, H, W, 3)
}


class StandIn(LocalJob):
    """A job with a real job's answer shape whose pass takes ``ms`` per image of the pass."""

    def __init__(self, kind: str, batch: int, ms: float):
        super().__init__(None, "cpu", batch=batch, precision="fp32")
        self.kind, self.ms, self.family = kind, ms, kind

    def _empty(self, images: np.ndarray) -> np.ndarray:
        tail, dtype = ANSWERS[self.kind]
        return np.zeros((*images.shape[:3], *tail), dtype)

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        if self.ms:
            time.sleep(self.ms * len(chunk) / 1000)
        return self._empty(chunk)


class Key:
    """The spec a client names a stand-in job by."""

    def __init__(self, key: str):
        self.key = key


def _serve(path: str, authkey: bytes, batch: int, device_ms: dict, ready) -> None:
    from multiprocessing.connection import Listener

    listener = Listener(path, family="AF_UNIX", authkey=authkey)
    ready.set()
    serve({k: StandIn(k, batch, ms) for k, ms in device_ms.items()}, listener)


def _client(address: Address, request: int, size: int, rounds: int, barrier, out) -> None:
    """A worker: ``rounds`` batches, each sent to every job in turn; puts (start, end, CPU
    seconds)."""
    links = [RemoteNetwork(address, Key(k)) for k in ANSWERS]
    images = np.random.default_rng(os.getpid()).integers(0, 255, (request, size, size, 3))
    images = images.astype(np.uint8)
    for link in links:  # warm-up: connections, allocations
        link(images)
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()  # perf_counter: system-wide
    for _ in range(rounds):
        for link in links:
            link(images)
    out.put((start, time.perf_counter(), time.process_time() - cpu))
    for link in links:
        link.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def served_ms_per_sample(args, device_ms: dict) -> tuple[float, float, float, dict]:
    """ms per sample of the process serving ``args.clients`` clients; CPU ms per sample of
    the process (every thread; the jobs' sleep is none) and of the clients; its stats."""
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="facedata-bench-") as folder:
        address = Address(str(Path(folder) / "net.sock"), secrets.token_bytes(16))
        ready = ctx.Event()
        server = ctx.Process(
            target=_serve, args=(address.path, address.authkey, args.batch, device_ms, ready)
        )
        server.start()
        try:
            ready.wait(60)
            barrier, out = ctx.Barrier(args.clients + 1), ctx.Queue()
            clients = [
                ctx.Process(
                    target=_client,
                    args=(address, args.request, args.size, args.rounds, barrier, out),
                )
                for _ in range(args.clients)
            ]
            for c in clients:
                c.start()
            barrier.wait()
            cpu = cpu_seconds(server.pid)
            spans = [out.get(timeout=600) for _ in clients]
            cpu = cpu_seconds(server.pid) - cpu
            for c in clients:
                c.join()
            link = RemoteNetwork(address)
            stats = link.stats()
            link.close()
        finally:
            server.terminate()
            server.join()
    wall = max(e for _, e, _ in spans) - min(s for s, _, _ in spans)
    samples = args.clients * args.rounds * args.request
    clients_cpu = sum(c for _, _, c in spans)
    return 1000 * wall / samples, 1000 * cpu / samples, 1000 * clients_cpu / samples, stats


def device_ms_per_sample(args, device_ms: dict) -> float:
    """ms per sample of the sleeping jobs called here, one full pass each, best of 5."""
    images = np.zeros((args.batch, args.size, args.size, 3), np.uint8)
    jobs = [StandIn(k, args.batch, ms) for k, ms in device_ms.items()]
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for job in jobs:
            job(images)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / args.batch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--clients", type=int, default=2, help="worker processes")
    parser.add_argument("--request", type=int, default=16, help="images per request")
    parser.add_argument(
        "--batch", type=int, default=16, help="images per pass (a build on a GPU: 32)"
    )
    parser.add_argument("--rounds", type=int, default=40, help="requests per client and job")
    parser.add_argument(
        "--device-ms", default="0.5,0.1,1.6", help="hed,parsing,color ms per image of a pass"
    )
    parser.add_argument("--quick", action="store_true", help="64², 2 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.rounds, args.request, args.batch = 64, 2, 4, 8
    device_ms = dict(zip(ANSWERS, map(float, args.device_ms.split(",")), strict=True))
    print(
        f"{args.clients} clients, requests of {args.request} {args.size}² RGB images, passes "
        f"of {args.batch}; load average before: {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores"
    )
    host, host_cpu, clients_cpu, _ = served_ms_per_sample(args, dict.fromkeys(device_ms, 0.0))
    device = device_ms_per_sample(args, device_ms)
    both, both_cpu, _, stats = served_ms_per_sample(args, device_ms)
    serial, ideal = 1000 / (host + device), 1000 / max(host, device)
    print(
        f"(a) host work alone:   {host:.2f} ms per sample (CPU ms per sample: the "
        f"process's threads {host_cpu:.2f}, the clients {clients_cpu:.2f})"
    )
    print(f"(b) device work alone: {device:.2f} ms per sample ({args.device_ms} ms per image)")
    print(
        f"(c) served:            {both:.2f} ms per sample, {1000 / both:.0f} samples/s; "
        f"{stats['padded']} of {stats['passes'] * args.batch} pass slots padding; "
        f"{both_cpu:.2f} CPU ms per sample"
    )
    print(
        f"    {1000 / both / serial:.2f}x the serial bound 1/(a+b) ({serial:.0f}/s), "
        f"{1000 / both / ideal:.2f}x the ideal 1/max(a,b) ({ideal:.0f}/s)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
