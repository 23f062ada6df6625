"""Builds on real clusters: a Dask scheduler and workers started as processes on 127.0.0.1,
killed by the tests; a local Ray instance. Only loopback addresses."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from small_builds import build_tree, shard_bytes
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.device import task_device
from facedata.errors import ClusterError
from facedata.pipeline.executors import Resources, probe, run_tasks, task_resources

distributed = pytest.importorskip("dask.distributed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(out, root, **kw):
    return build_tree(out, root, **({"size": 96, "shard_size": 3} | kw))


def wait_for(condition, what: str, limit: float = 120.0) -> None:
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


class LoopbackCluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.workers: list[subprocess.Popen] = []
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port",
                                     self.address.rsplit(":", 1)[1], "--no-dashboard")  # fmt: skip
        wait_for(lambda: self.count() == 0, "the scheduler")

    def _start(self, *args: str, cwd: Path | None = None) -> subprocess.Popen:
        log = open(self.folder / f"{args[0]}-{len(self.workers)}.log", "wb")  # noqa: SIM115
        return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=cwd or self.folder,
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip

    def add_worker(self, cwd: Path, *options: str) -> subprocess.Popen:
        """One worker process (no nanny, so a killed worker stays dead), one thread."""
        before = self.count()
        options = (
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            *options,
        )
        worker = self._start("worker", self.address, *options, cwd=cwd)
        self.workers.append(worker)
        wait_for(lambda: self.count() > before, "a worker to join")
        return worker

    def count(self) -> int | None:
        try:
            with distributed.Client(self.address, timeout=5) as client:
                return len(client.nthreads())
        except OSError:
            return None

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            process.kill()
            process.wait()


@pytest.fixture
def cluster(tmp_path):
    folder = tmp_path / "cluster"
    folder.mkdir()
    cluster = LoopbackCluster(folder)
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo_tree):
    out = tmp_path_factory.mktemp("ref") / "out"
    run(out, demo_tree)
    return shard_bytes(out)


def test_unreachable_scheduler_is_one_message_before_any_planning(tmp_path, demo_tree):
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    result = CliRunner().invoke(
        app, ["build", "--src", "celebamask-hq", "--root", str(demo_tree), "--out",
              str(tmp_path / "out"), "--backend", "dask", "--scheduler", address],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.strip()]
    assert len(errors) == 1 and f"cannot reach the Dask scheduler at {address}" in errors[0]
    assert not (tmp_path / "out").exists()  # probed before the output folder was touched


def test_workers_elsewhere_get_absolute_paths(tmp_path, demo_tree, reference, cluster, monkeypatch):
    elsewhere = tmp_path / "worker-cwd"
    elsewhere.mkdir()
    for _ in range(2):
        cluster.add_worker(elsewhere)
    # The driver builds with paths relative to its own folder; the workers run in another.
    monkeypatch.chdir(tmp_path)
    os.symlink(demo_tree, tmp_path / "data")
    report = run(Path("shards"), Path("data"), workers=2, backend="dask",
                 scheduler=cluster.address)  # fmt: skip
    assert report.shards_built == len(reference) and not report.shard_errors
    assert shard_bytes(tmp_path / "shards") == reference
    assert list(elsewhere.iterdir()) == []


def test_killed_workers_fail_after_the_wait_then_resume(tmp_path, demo_tree, reference, cluster):
    worker = cluster.add_worker(tmp_path)
    out = tmp_path / "out"
    outcome: dict = {}

    def target():
        try:
            run(out, demo_tree, shard_size=1, workers=1, backend="dask",
                scheduler=cluster.address, worker_wait=2)  # fmt: skip
        except ClusterError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    wait_for(lambda: any(out.glob("*/*_stats.json")), "the first finished shard")
    worker.kill()  # the only worker: every task left has nowhere to run
    thread.join(timeout=300)
    assert not thread.is_alive()
    message = str(outcome["error"])
    assert "no worker on" in message and "for 2 s" in message
    assert f"dask worker {cluster.address}" in message and "finished shards are kept" in message
    finished = len(list(out.glob("*/*_stats.json")))
    assert 0 < finished < 12
    # A new worker and the same command finish the build, byte-identically.
    cluster.add_worker(tmp_path)
    report = run(out, demo_tree, shard_size=1, workers=1, backend="dask",
                 scheduler=cluster.address)  # fmt: skip
    assert report.shards_skipped == finished and not report.shard_errors
    reference_one = tmp_path / "one"
    run(reference_one, demo_tree, shard_size=1)
    assert shard_bytes(out) == shard_bytes(reference_one)


def test_gpu_tasks_wait_for_a_worker_with_the_gpu_resource(tmp_path, cluster):
    cluster.add_worker(tmp_path)  # no GPU resource
    gpu = Resources(gpus=1)
    with pytest.raises(ClusterError, match="--resources GPU=1"):
        list(run_tasks(os.getpid, [()], workers=1, backend="dask", scheduler=cluster.address,
                       needs=lambda _: gpu, worker_wait=1))  # fmt: skip
    worker = cluster.add_worker(tmp_path, "--resources", "GPU=1")
    pids = run_tasks(os.getpid, [(), ()], workers=2, backend="dask", scheduler=cluster.address,
                     needs=lambda _: gpu, worker_wait=1)  # fmt: skip
    assert list(pids) == [worker.pid, worker.pid]
    # The device is chosen on the worker, from the GPUs it sees (none here): not cuda:{i % n}.
    devices = run_tasks(task_device, [("cuda", 3)], workers=1, backend="dask",
                        scheduler=cluster.address, needs=lambda _: gpu)  # fmt: skip
    assert list(devices) == ["cuda"]


def test_task_resources():
    assert task_resources("cuda") == task_resources("cuda:1") == Resources(gpus=1)
    assert task_resources("auto") == task_resources("cpu") == Resources(gpus=0)


def test_ray_asks_for_num_gpus():
    ray = pytest.importorskip("ray")
    # A local instance on this CPU machine has no GPU: a task asking for one cannot start.
    with pytest.raises(ClusterError, match="no worker on the local Ray instance"):
        list(run_tasks(os.getpid, [()], workers=1, backend="ray",
                       needs=lambda _: Resources(gpus=1), worker_wait=1))  # fmt: skip
    assert not ray.is_initialized()


def test_cluster_libraries_log_info_only_with_verbose(tmp_path, demo_tree):
    command = [sys.executable, "-m", "facedata", "build", "--src", "celebamask-hq", "--root",
               str(demo_tree), "--out", str(tmp_path / "out"), "--backend", "dask",
               "--workers", "1", "--maps", "parsing", "--size", "64", "--no-progress"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "samples written" in result.stdout
    assert not [line for line in result.stderr.splitlines() if line.startswith("INFO")]


RAY_HEAD = """
import os, sys, time
import ray
ray.init(num_cpus=1, include_dashboard=False)
print(ray.get_runtime_context().gcs_address.rsplit(":", 1)[1], flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.2)
ray.shutdown()
"""


def test_ray_without_the_token_is_one_message(tmp_path):
    pytest.importorskip("ray")
    token = {"RAY_AUTH_MODE": "token", "HOME": str(tmp_path)}  # no ~/.ray/auth_token there
    stop = tmp_path / "stop"
    head_env = os.environ | token | {"RAY_AUTH_TOKEN": "a" * 32}
    head = subprocess.Popen(
        [sys.executable, "-c", RAY_HEAD, str(stop)], stdout=subprocess.PIPE, text=True, env=head_env
    )
    try:
        address = f"127.0.0.1:{head.stdout.readline().strip()}"
        env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_TOKEN"} | token
        command = [sys.executable, "-m", "facedata", "build", "--out", str(tmp_path / "out"),
                   "--backend", "ray", "--scheduler", address]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    finally:
        stop.touch()
        head.wait(timeout=120)
    assert result.returncode == 2, result.stderr
    assert f"error: the Ray cluster at {address} refused the connection" in result.stderr
    assert "RAY_AUTH_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_tls_scheduler_without_certificates_is_one_message(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    tls = ["--tls-ca-file", str(cert), "--tls-cert", str(cert), "--tls-key", str(key)]
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--protocol", "tls", "--host", "127.0.0.1",
         "--port", str(port), "--no-dashboard", *tls],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    settings = {"distributed.comm.tls.ca-file": str(cert),
                "distributed.comm.tls.client.cert": str(cert),
                "distributed.comm.tls.client.key": str(key)}  # fmt: skip
    try:
        import dask

        with dask.config.set(settings):  # the settings the message names: they connect
            wait_for(lambda: _probes(f"tls://127.0.0.1:{port}"), "the TLS scheduler")
        with pytest.raises(ClusterError, match="uses TLS and this machine has no certificates"):
            probe("dask", f"tls://127.0.0.1:{port}")
        with pytest.raises(ClusterError, match="a TLS scheduler needs tls://"):
            probe("dask", f"tcp://127.0.0.1:{port}")
    finally:
        scheduler.kill()
        scheduler.wait()


def _probes(address: str) -> bool:
    try:
        probe("dask", address)
    except ClusterError:
        return False
    return True
