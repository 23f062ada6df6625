"""Scale-out and reliability: same bytes on every executor, kill -9 and resume, verify,
hostile inputs."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from small_builds import build_tree, shard_bytes

from facedata.pipeline import BuildConfig, build
from facedata.pipeline.align import AlignConfig
from facedata.shards.manifest import checksum
from facedata.shards.verify import verify
from facedata.shards.writer import ShardWriter
from facedata.sources import SourceConfig

REPO = Path(__file__).resolve().parents[1]


def run(out, root, **kw):
    return build_tree(out, root, **({"size": 96, "shard_size": 3} | kw))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo_tree):
    # Module-scoped, so it runs before the per-test FACEDATA_HOME; these maps need no cache.
    out = tmp_path_factory.mktemp("ref") / "out"
    run(out, demo_tree)
    return shard_bytes(out)


def test_default_workers_follow_the_cores_and_the_shards(tmp_path, demo_tree, monkeypatch):
    import importlib

    build_module = importlib.import_module("facedata.pipeline.build")  # not the function
    seen = []
    real = build_module.run_tasks

    def spy(fn, tasks, *, workers, **kw):
        seen.append(workers)
        return real(fn, tasks, workers=1, **kw)

    monkeypatch.setattr("os.cpu_count", lambda: 16)
    monkeypatch.setattr(build_module, "run_tasks", spy)
    run(tmp_path / "a", demo_tree, shard_size=3)  # 6 shards: 6 workers, not 16
    run(tmp_path / "b", demo_tree, shard_size=100)  # 3 shards (one per split)
    assert seen == [6, 3]


def test_two_loky_workers_give_the_same_bytes(tmp_path, demo_tree, reference):
    report = run(tmp_path / "out", demo_tree, workers=2)
    assert report.shards_built == len(reference)
    assert shard_bytes(tmp_path / "out") == reference


def test_dask_cluster_gives_the_same_bytes(tmp_path, demo_tree, reference):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        run(tmp_path / "out", demo_tree, workers=2, backend="dask",
            scheduler=cluster.scheduler_address)  # fmt: skip
    assert shard_bytes(tmp_path / "out") == reference


def test_ray_gives_the_same_bytes(tmp_path, demo_tree, reference):
    pytest.importorskip("ray")
    run(tmp_path / "out", demo_tree, workers=2, backend="ray")
    assert shard_bytes(tmp_path / "out") == reference


def test_kill_9_at_several_points_then_resume(tmp_path, demo_tree, reference):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "facedata", "build", "--src", "celebamask-hq", "--root",
           str(demo_tree), "--out", str(out), "--size", "96", "--shard-size", "3",
           "--maps", "parsing,face,hair,mask", "--workers", "1", "--no-progress"]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(REPO)}
    for delay in (0.6, 1.2, 1.8):
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert shard_bytes(out) == reference
    assert not list(out.glob("*/.*tmp*"))
    assert verify(out).ok


def test_verify_catches_flipped_byte_truncation_and_bad_labels(tmp_path, demo_tree):
    out = tmp_path / "out"
    run(out, demo_tree)
    assert verify(out).ok
    shards = sorted(out.glob("train/*.tar"))
    data = bytearray(shards[0].read_bytes())
    data[2000] ^= 0xFF
    shards[0].write_bytes(bytes(data))
    shards[1].write_bytes(shards[1].read_bytes()[:5000])
    problems = "\n".join(verify(out).problems)
    assert "train/train-000000.tar: sha256" in problems
    assert "train/train-000001.tar" in problems and "holds" in problems

    # A label id out of range, in a shard whose checksum is made to match the manifest.
    out2 = tmp_path / "out2"
    run(out2, demo_tree)
    from facedata.shards.reader import iter_shard

    path = out2 / "test" / "test-000000.tar"
    samples = list(iter_shard(path))
    samples[0]["parsing.png"] = samples[0]["parsing.png"].copy()
    samples[0]["parsing.png"][0, 0] = 25
    with ShardWriter(path) as w:
        for s in samples:
            w.write(s.pop("__key__"), s)
    # Forge a consistent build around it: stats, manifest entry and manifest checksum.
    stats_path = out2 / "test" / "test-000000_stats.json"
    stats = json.loads(stats_path.read_text()) | {"sha256": w.sha256, "bytes": w.nbytes}
    stats_path.write_text(json.dumps(stats))
    manifest = json.loads((out2 / "manifest.json").read_text())
    manifest["splits"]["test"]["shards"][0] |= {"sha256": w.sha256, "bytes": w.nbytes}
    manifest["checksum"] = checksum(manifest)
    (out2 / "manifest.json").write_text(json.dumps(manifest))
    report = verify(out2)
    assert len(report.problems) == 1
    assert "parsing.png holds label id 25 (valid: 0-18)" in report.problems[0]


def _png_with_header_size(path, width, height):
    """A valid small PNG whose IHDR announces another size (a decompression-bomb header)."""
    Image.new("L", (4, 4)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(bytes(data))


def test_hostile_folder_inputs_become_failure_lines(tmp_path):
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (80, 60, 3), np.uint8)).save(root / "ok.jpg")
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(
        root / "sub" / "we ird.name.v2.png"
    )
    (root / "zero.jpg").write_bytes(b"")
    _png_with_header_size(root / "bomb.png", 50_000, 50_000)
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    out = tmp_path / "out"
    report = build(
        BuildConfig(
            out=str(out),
            size=32,
            maps=("mask",),
            progress=False,
            split="none",
            max_failure_rate=0.5,
        ),  # 2 of 4 fail: the limit is applied by build()
        SourceConfig("folder", root=str(root)),
        {"align": AlignConfig(method="none")},  # noise, not faces: nothing to align
    )
    assert report.written == 2
    failures = {f["key"]: f for f in report.failures}
    assert set(failures) == {"folder-zero", "folder-bomb"}
    assert "empty file" in failures["folder-zero"]["error"]
    assert "announces" in failures["folder-bomb"]["error"]
    assert verify(out).ok


CRASHING_STAGE = '''
import os
from pathlib import Path

from facedata.pipeline.stages import Stage


class CrashOnce(Stage):
    """Kills its worker process the first time it meets sample 5, as the OOM killer would."""

    name = "crash"

    def process(self, sample):
        marker = Path(os.environ["CRASH_MARKER"])
        if sample.key.endswith("000005") and not marker.exists():
            marker.write_text("killed once")
            os._exit(9)
'''

BUILD_WITH_CRASH = """
import sys
from facedata.pipeline import BuildConfig, build, stages
from facedata.sources import SourceConfig
stages.STAGES["crash"] = "crashing_stage:CrashOnce"
out, root = sys.argv[1:3]
config = BuildConfig(out=out, size=96, shard_size=3, progress=False, workers=2,
                     maps=("parsing", "face", "hair", "mask", "crash"))
report = build(config, SourceConfig("celebamask-hq", root=root))
print(report.shards_built, len(report.shard_errors), report.written)
"""


def test_a_killed_worker_fails_its_shard_which_is_retried(tmp_path, demo_tree, reference):
    (tmp_path / "crashing_stage.py").write_text(CRASHING_STAGE)
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]),
        "CRASH_MARKER": str(tmp_path / "marker"),
    }
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", BUILD_WITH_CRASH, str(out), str(demo_tree)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "marker").exists()  # a worker really died
    built, errors, written = map(int, done.stdout.split()[-3:])
    assert errors == 0 and written == 12
    assert shard_bytes(out) == reference  # the "crash" stage writes no field
