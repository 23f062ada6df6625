"""Builds that must never be silently wrong: one writer per folder, fingerprinted resume,
options checked before any work, OS errors as one line, leftovers cleaned, and the session
releasing what it loaded."""

from __future__ import annotations

import gc
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from small_builds import build_tree, shard_bytes
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.errors import BuildFailedError, ConfigError
from facedata.io.lock import LOCK_NAME, FolderLock, FolderLockedError
from facedata.shards.reader import load_manifest
from facedata.shards.verify import verify

REPO = Path(__file__).resolve().parents[1]
build_module = importlib.import_module("facedata.pipeline.build")  # not the function
runner = CliRunner()


def run(out, root, **kw):
    return build_tree(out, root, **({"size": 64, "shard_size": 4} | kw))


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def env_with(*paths):
    return os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO), *map(str, paths)])}


def build_args(root, out, *extra):
    return ["build", "--src", "celebamask-hq", "--root", str(root), "--out", str(out),
            "--size", "64", "--shard-size", "4", "--maps", "parsing,face,hair,mask",
            "--workers", "1", "--no-progress", *map(str, extra)]  # fmt: skip


# -- one build per folder -----------------------------------------------------------------

WAITING_STAGE = '''
import os
import time
from pathlib import Path

from facedata.pipeline.stages import Stage


class Wait(Stage):
    """Holds the build at its first sample until the test creates the release file."""

    name = "wait"

    def process(self, sample):
        release = Path(os.environ["RELEASE"])
        deadline = time.monotonic() + 120
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
'''

CLI_WITH_WAIT = """
import sys
from facedata.pipeline import stages
stages.STAGES["wait"] = "waiting_stage:Wait"
from facedata.cli.app import app
app(sys.argv[1:])
"""


def _wait_for_holder(out: Path, proc: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        holder = FolderLock(out).held_by()
        if holder and holder.get("pid") == proc.pid:
            return holder
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the first build never took the lock")


def test_a_second_build_into_the_same_folder_is_refused(tmp_path, demo_tree):
    (tmp_path / "waiting_stage.py").write_text(WAITING_STAGE)
    out = tmp_path / "out"
    env = env_with(tmp_path) | {"RELEASE": str(tmp_path / "release")}
    args = build_args(demo_tree, out)
    args[args.index("parsing,face,hair,mask")] = "parsing,face,hair,mask,wait"
    first = subprocess.Popen([sys.executable, "-c", CLI_WITH_WAIT, *args], env=env, cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        holder = _wait_for_holder(out, first)
        # Same options, then another seed (which once mixed seed-0 and seed-1 shards).
        for extra in ((), ("--seed", "1")):
            second = subprocess.run(
                [sys.executable, "-m", "facedata", *build_args(demo_tree, out, *extra)],
                env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert second.returncode == 1
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in second.stderr, second.stderr
            assert f"being built by process {holder['pid']} on {holder['host']}" in lines[0]
        (tmp_path / "release").write_text("go")
        _, err = first.communicate(timeout=300)
    finally:
        first.kill()
    assert first.returncode == 0, err
    assert verify(out).ok
    assert load_manifest(out)["build"]["seed"] == 0
    assert not (out / LOCK_NAME).exists()  # released at the end


HOLD_LOCK = """
import sys, time
from facedata.io.lock import FolderLock
lock = FolderLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(300)
"""


def test_a_lock_left_by_a_killed_build_is_taken_over(tmp_path, demo_tree):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], env=env_with(),
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(FolderLockedError, match=f"process {holder.pid} "):
        run(out, demo_tree)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == holder.pid  # stale record
    report = run(out, demo_tree)
    assert report.written == 12 and verify(out).ok


# -- fingerprinted resume -----------------------------------------------------------------


def _files_of(root: Path, image_id: int) -> list[Path]:
    anno = root / "CelebAMask-HQ-mask-anno"
    parts = [p for p in (anno / str(image_id // 2000)).glob(f"{image_id:05d}_*.png")]
    return [root / "CelebA-HQ-img" / f"{image_id}.jpg", *parts]


def test_resume_rebuilds_exactly_the_shards_whose_inputs_changed(tmp_path, demo_tree):
    root = tmp_path / "data"
    shutil.copytree(demo_tree, root)
    stash = tmp_path / "stash"
    for path in _files_of(root, 11):  # train: [0 1 2 3] [4 5 8 9] [10 11]
        (stash / path.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, stash / path.relative_to(root))
    out = tmp_path / "out"
    run(out, root)
    before = shard_bytes(out)

    # One image added (at the end of its split): only the last train shard is rebuilt.
    for path in [p for p in stash.rglob("*") if p.is_file()]:
        shutil.move(path, root / path.relative_to(stash))
    report = run(out, root)
    assert (report.changes.added, report.changes.removed, report.changes.changed) == (1, 0, 0)
    assert (report.shards_built, report.shards_skipped) == (1, 4)
    after = shard_bytes(out)
    assert {k for k in after if after[k] != before.get(k)} == {"train/train-000002.tar"}
    run(tmp_path / "fresh", root)
    assert after == shard_bytes(tmp_path / "fresh")  # never a mixed build
    assert verify(out).ok

    # One image edited in place: only its shard.
    jpg = root / "CelebA-HQ-img" / "3.jpg"
    Image.open(jpg).transpose(Image.FLIP_LEFT_RIGHT).save(jpg, quality=90)
    report = run(out, root)
    assert (report.changes.added, report.changes.removed, report.changes.changed) == (0, 0, 1)
    assert (report.shards_built, report.shards_skipped) == (1, 4)

    # One (optional) part file removed: the sample's parsing changes, so its shard too.
    next(p for p in _files_of(root, 8)[1:] if not p.name.endswith("_skin.png")).unlink()
    report = run(out, root)
    assert report.changes.changed == 1 and report.shards_built == 1

    # The first image removed: the train shards after it shift, val and test are kept.
    for path in _files_of(root, 0):
        path.unlink()
    report = run(out, root)
    assert report.changes.removed == 1
    assert (report.shards_built, report.shards_skipped, report.shards_removed) == (3, 2, 0)
    shutil.rmtree(tmp_path / "fresh")
    run(tmp_path / "fresh", root)
    assert shard_bytes(out) == shard_bytes(tmp_path / "fresh")
    assert verify(out).ok


def test_shards_the_plan_no_longer_has_are_removed(tmp_path, demo_tree):
    root = tmp_path / "data"
    shutil.copytree(demo_tree, root)
    out = tmp_path / "out"
    run(out, root)
    for image_id in (10, 11):  # train had 10 samples, 3 shards; now 8, 2 shards
        for path in _files_of(root, image_id):
            path.unlink()
    report = run(out, root)
    assert report.shards_removed == 1 and report.shards_built == 0
    assert not (out / "train" / "train-000002.tar").exists()
    assert not (out / "train" / "train-000002_stats.json").exists()
    assert verify(out).ok


def test_a_resume_refusal_lists_each_differing_option(tmp_path, demo_tree):
    out = tmp_path / "out"
    run(out, demo_tree)
    with pytest.raises(ConfigError) as info:
        run(out, demo_tree, seed=1, size=96)
    message = str(info.value)
    assert "build.seed: 0 → 1" in message and "build.size: 64 → 96" in message
    assert "--overwrite" in message and "\n" not in message


def test_options_that_change_no_byte_never_block_a_resume(tmp_path, demo_tree):
    out = tmp_path / "out"
    run(out, demo_tree)
    before = shard_bytes(out)
    # No stage of these maps runs on a device, so even an absent GPU's name is harmless.
    report = run(out, demo_tree, max_failure_rate=0.5, workers=2, batch_size=3, device="cpu")
    assert report.shards_built == 0 and report.shards_skipped == 5
    assert shard_bytes(out) == before


# -- options checked before any work -------------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--size", "0"), "--size must be an integer of at least 1"),
        (("--size", "-5"), "--size must be an integer of at least 1"),
        (("--split", "bogus"), "--split must be one of"),
        (("--shard-size", "0"), "--shard-size must be"),
        (("--max-failure-rate", "2"), "--max-failure-rate must be between 0 and 1"),
        (("--device", "gpu"), "--device must be auto, cpu, cuda or cuda:i"),
        (("--maps", "parsing,nosuchmap"), "unknown map 'nosuchmap'"),
    ],
)
def test_bad_build_options_are_one_line_before_any_work(tmp_path, demo_tree, extra, message):
    out = tmp_path / "out"
    run(out, demo_tree)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = cli(*build_args(demo_tree, out, *extra))
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert message in result.output and "Traceback" not in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert verify(out).ok  # the folder is still a usable build
    fresh = cli(*build_args(demo_tree, tmp_path / "new", *extra))
    assert fresh.exit_code == 2 and not (tmp_path / "new").exists()


def test_an_unreachable_coverage_range_is_refused_before_the_build(tmp_path, demo_tree):
    result = cli(*build_args(demo_tree, tmp_path / "out", "--max-coverage", "0.001"))
    assert result.exit_code == 2, result.output
    assert "no scfegan mask reaches coverage 0–0.001" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    # A narrow range that masks do reach still builds.
    assert cli(*build_args(demo_tree, tmp_path / "ok", "--max-coverage", "0.3")).exit_code == 0


@pytest.fixture(scope="module")
def small_build(tmp_path_factory, demo_tree):
    out = tmp_path_factory.mktemp("small") / "out"
    run(out, demo_tree)
    return out


@pytest.mark.parametrize(
    "args, message",
    [
        (("preview", "{out}", "--n", "0"), "--count must be an integer of at least 1, not 0"),
        (("preview", "{out}", "--tile", "0"), "--tile must be an integer of at least 16"),
        (("preview", "{out}", "--split", "bogus"), "split 'bogus' is not in"),
        (("preview", "masks", "--n", "0"), "--count must be an integer of at least 1"),
        (("preview", "masks", "--tile", "0"), "--tile must be an integer of at least 16"),
        (("preview", "edits", "--shards", "{out}", "--n", "0"), "--count must be"),
        (("train", "--shards", "{out}", "--out", "{tmp}/run", "--batch", "0"),
         "--batch-size must be an integer of at least 1, not 0"),
        (("train", "--shards", "{out}", "--out", "{tmp}/run", "--size", "100"),
         "--size must be a power of two"),
        (("train", "--shards", "{out}", "--out", "{tmp}/run", "--split", "bogus", "--no-vgg"),
         "split 'bogus' is not in"),
        (("evaluate", "--checkpoint", "{tmp}/c.pt", "--shards", "{out}", "--batch", "0"),
         "--batch-size must be an integer of at least 1, not 0"),
    ],
)  # fmt: skip
def test_bad_options_of_other_commands_are_one_line(tmp_path, small_build, args, message):
    args = [a.format(out=small_build, tmp=tmp_path) for a in args]
    result = cli(*args, *(("--out", tmp_path / "p.png") if args[0] == "preview" else ()))
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


def test_device_cuda_without_a_gpu_is_an_error(tmp_path, demo_tree):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    result = cli(*build_args(demo_tree, tmp_path / "out", "--device", "cuda"))
    assert result.exit_code == 2
    assert "no CUDA GPU is visible" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_or_below_one(tmp_path, demo_tree):
    (tmp_path / "file").write_text("not a folder")
    for out, message in ((tmp_path / "file", "is a file"),
                         (tmp_path / "file" / "sub", "cannot be created")):  # fmt: skip
        result = cli(*build_args(demo_tree, out))
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
    assert (tmp_path / "file").read_text() == "not a folder"


def test_failure_rate_limit_is_applied_by_the_library(tmp_path, demo_tree):
    root = tmp_path / "data"
    shutil.copytree(demo_tree, root)
    (root / "CelebA-HQ-img" / "4.jpg").write_bytes(b"")
    with pytest.raises(BuildFailedError, match="failure rate 8.3% exceeds") as info:
        run(tmp_path / "out", root)
    assert info.value.report.written == 11 and len(info.value.report.failures) == 1
    assert (tmp_path / "out" / "manifest.json").is_file()  # the build itself is complete


# -- leftovers ------------------------------------------------------------------------------


def test_top_level_leftovers_are_cleaned_and_never_block(tmp_path, demo_tree):
    out = tmp_path / "out"
    out.mkdir()
    # What a kill during the very first build.json write leaves behind.
    (out / ".build.json.tmp-4242").write_text('{"half":')
    report = run(out, demo_tree)
    assert report.written == 12
    for name in (".manifest.json.tmp-17", ".failures.jsonl.tmp-17", ".build.json.tmp-17"):
        (out / name).write_text("partial")
    run(out, demo_tree)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


# -- OS errors ----------------------------------------------------------------------------

UNSHARE = shutil.which("unshare")


def _can_mount_tmpfs() -> bool:
    if UNSHARE is None or sys.platform != "linux":
        return False
    probe = subprocess.run([UNSHARE, "-rm", "sh", "-c", "mount -t tmpfs none /mnt"],
                           capture_output=True)  # fmt: skip
    return probe.returncode == 0


FULL_DISK = """
set -u
mount -t tmpfs -o size=60k tmpfs "$MNT"
"$PY" -m cli $ARGS > "$LOG/first.out" 2> "$LOG/first.err"
echo $? > "$LOG/first.rc"
ls -a "$MNT/out/train" > "$LOG/kept.txt"
mount -o remount,size=8m "$MNT"
"$PY" -m cli $ARGS > "$LOG/second.out" 2> "$LOG/second.err"
echo $? > "$LOG/second.rc"
cp -r "$MNT/out" "$LOG/out"
"""


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs unshare -rm to mount a small tmpfs")
def test_disk_full_is_one_line_and_the_same_command_then_completes(tmp_path, demo_tree):
    run(tmp_path / "ref", demo_tree)
    mnt, log = tmp_path / "mnt", tmp_path / "log"
    mnt.mkdir()
    log.mkdir()
    args = " ".join(build_args(demo_tree, mnt / "out"))
    env = env_with() | {"MNT": str(mnt), "LOG": str(log), "PY": sys.executable, "ARGS": args}
    subprocess.run([UNSHARE, "-rm", "sh", "-c", FULL_DISK], env=env, cwd=REPO, timeout=600,
                   check=True)  # fmt: skip
    err = (log / "first.err").read_text()
    assert (log / "first.rc").read_text().strip() == "1", err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert "No space left on device (free some space)" in line
    assert "finished shards are kept" in line and "run the same command again" in line
    kept = (log / "kept.txt").read_text().split()
    assert not [n for n in kept if ".tmp-" in n]  # no partial file under any name
    assert (log / "second.rc").read_text().strip() == "0", (log / "second.err").read_text()
    assert shard_bytes(log / "out") == shard_bytes(tmp_path / "ref")
    assert verify(log / "out").ok


def _immutable(path: Path) -> bool:
    chattr = shutil.which("chattr")
    return chattr is not None and subprocess.run([chattr, "+i", str(path)]).returncode == 0


def _unfinish(out: Path, shard: str) -> None:
    """Make a finished build look like one killed before ``shard`` was written."""
    (out / shard).unlink()
    (out / shard.replace(".tar", "_stats.json")).unlink()
    (out / "manifest.json").unlink()


def test_read_only_folder_is_one_line_then_the_build_completes(tmp_path, demo_tree):
    out = tmp_path / "out"
    run(out, demo_tree)
    reference = shard_bytes(out)
    _unfinish(out, "train/train-000001.tar")
    folder = out / "train"
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
    elif not _immutable(folder):
        pytest.skip("root ignores permissions and chattr +i is not available")
    try:
        result = cli(*build_args(demo_tree, out))
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        os.chmod(folder, 0o755)
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"error: cannot write {folder}/") and "Traceback" not in (
        result.output
    )
    assert "finished shards are kept" in result.output
    again = cli(*build_args(demo_tree, out))
    assert again.exit_code == 0, again.output
    assert "1 shards built, 4 already complete" in again.output
    assert shard_bytes(out) == reference and verify(out).ok


def test_a_file_where_a_split_folder_belongs_is_one_line(tmp_path, demo_tree):
    out = tmp_path / "out"
    run(out, demo_tree)
    reference = shard_bytes(out)
    _unfinish(out, "val/val-000000.tar")
    (out / "val").rmdir()
    (out / "val").write_text("in the way")
    result = cli(*build_args(demo_tree, out))
    assert result.exit_code == 1, result.output
    assert f"error: cannot write {out / 'val'}" in result.output
    assert "a file is in the way of a folder" in result.output
    assert "Traceback" not in result.output
    (out / "val").unlink()
    assert cli(*build_args(demo_tree, out)).exit_code == 0
    assert shard_bytes(out) == reference and verify(out).ok


def test_verbose_shows_the_traceback(tmp_path, demo_tree):
    result = cli("build", "--src", "celebamask-hq", "--root", tmp_path / "none", "--out",
                 tmp_path / "o", "-v")  # fmt: skip
    assert result.exit_code == 2 and "Expected layout" in result.output
    assert "Traceback" in result.output
    quiet = cli("build", "--src", "celebamask-hq", "--root", tmp_path / "none", "--out",
                tmp_path / "o")  # fmt: skip
    assert "Traceback" not in quiet.output


# -- the session ----------------------------------------------------------------------------


def test_the_session_releases_its_stages(tmp_path, demo_tree):
    import weakref

    from facedata.pipeline.stages import Stage

    alive: list[weakref.ref] = []
    real_setup = Stage.setup

    def tracking_setup(self):
        alive.append(weakref.ref(self))
        return real_setup(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Stage, "setup", tracking_setup)
        run(tmp_path / "out", demo_tree)
    gc.collect()
    assert alive and all(ref() is None for ref in alive)
    assert not hasattr(build_module, "_STAGE_CACHE")


def test_options_are_checked_before_the_source_is_listed(tmp_path, monkeypatch):
    from facedata.sources.celebamask_hq import CelebAMaskHQ

    def listed(self):
        raise AssertionError("the source was listed before the options were checked")

    monkeypatch.setattr(CelebAMaskHQ, "refs", listed)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        run(tmp_path / "file", tmp_path)
    with pytest.raises(ConfigError, match="--shard-size"):
        run(tmp_path / "out", tmp_path, shard_size=0)
    assert not (tmp_path / "out").exists()
