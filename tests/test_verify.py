"""verify checks the whole manifest, and build --repair rebuilds what verify finds broken."""

from __future__ import annotations

import json
import shutil

import pytest
from small_builds import MAPS, build_tree, shard_bytes
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.shards.manifest import checksum
from facedata.shards.verify import verify

runner = CliRunner()


def run(out, root, **kw):
    return build_tree(out, root, **({"size": 64, "shard_size": 4} | kw))


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_tree):
    out = tmp_path_factory.mktemp("verify") / "out"
    run(out, demo_tree)
    return out


@pytest.fixture
def copy(built, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(built, out)
    return out


def edit_manifest(out, change, *, reseal=False):
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    if reseal:  # an edit made consistent with the checksum: the other checks must catch it
        manifest["checksum"] = checksum(manifest)
    path.write_text(json.dumps(manifest))


def problems(out):
    report = verify(out)
    assert not report.ok
    return "\n".join(report.problems)


def test_a_fresh_build_verifies(built):
    report = verify(built)
    assert report.ok, report.problems
    assert (report.shards, report.samples) == (5, 12)


def test_any_edit_to_the_manifest_breaks_its_checksum(copy):
    edit_manifest(copy, lambda m: m["build"].update(seed=7))
    assert "checksum does not match" in problems(copy)
    edit_manifest(copy, lambda m: m.pop("checksum"))
    assert "has no checksum (format version 2" in problems(copy)


@pytest.mark.parametrize("reseal", [False, True])
def test_a_shard_removed_from_the_manifest_is_found_on_disk(copy, reseal):
    def drop(manifest):
        manifest["splits"]["train"]["shards"].pop()
        manifest["splits"]["train"]["count"] -= 2

    edit_manifest(copy, drop, reseal=reseal)
    text = problems(copy)
    assert "train/train-000002.tar: shard on disk is not listed in manifest.json" in text
    assert "the shards' stats 10" in text  # attempted: 12, of which 2 no longer listed


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda m: m["splits"]["val"].update(count=5), "split val says 5 samples, its shards 1"),
        (lambda m: m["build"].update(seed=1), "json says seed 0, the manifest 1"),
        (lambda m: m.update(attempted=13), "says 13 samples were attempted, the shards' stats 12"),
        (lambda m: m.update(failed=2), "says 2 samples failed, failures.jsonl lists 0"),
        (lambda m: m["fields"].append("hog.npy"), "missing fields ['hog.npy']"),
        (lambda m: m["splits"]["test"]["shards"][0].update(count=3),
         "holds 1 samples, the manifest says 3"),
    ],
)  # fmt: skip
def test_edits_made_consistent_with_the_checksum_are_still_caught(copy, change, expected):
    edit_manifest(copy, change, reseal=True)
    assert expected in problems(copy)


def test_stats_that_disagree_with_the_manifest(copy):
    path = copy / "val" / "val-000000_stats.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"count": 9}))
    assert "val/val-000000.tar: stats say count 9, the manifest 1" in problems(copy)
    path.unlink()
    assert "val/val-000000.tar: its stats file is missing" in problems(copy)


def test_an_invalid_manifest_is_a_problem_not_a_traceback(copy):
    (copy / "manifest.json").write_text('{"build": {"size": 64}, "spl')
    assert "manifest.json: cannot be read as JSON" in problems(copy)
    result = runner.invoke(app, ["verify", str(copy), "--no-progress"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for command in (["inspect", str(copy)], ["preview", str(copy), "--out", str(copy / "p.png")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2 and "manifest.json is not valid JSON" in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_a_build_of_zero_samples_is_flagged(tmp_path, demo_tree):
    root = tmp_path / "data"
    shutil.copytree(demo_tree, root)
    for jpg in (root / "CelebA-HQ-img").glob("*.jpg"):
        jpg.write_bytes(b"")
    out = tmp_path / "out"
    report = run(out, root, max_failure_rate=1.0)
    assert report.written == 0
    assert "holds 0 samples" in problems(out)


def test_verify_json(copy):
    result = runner.invoke(app, ["verify", str(copy), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) | {"out": None} == {
        "out": None, "ok": True, "shards": 5, "samples": 12, "problems": [], "repair": [],
        "remedy": None,
    }  # fmt: skip
    shard = copy / "train" / "train-000001.tar"
    data = bytearray(shard.read_bytes())
    data[3000] ^= 0xFF
    shard.write_bytes(bytes(data))
    result = runner.invoke(app, ["verify", str(copy), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["repair"] == ["train/train-000001.tar"]
    assert "--repair" in report["remedy"]


def test_repair_rebuilds_exactly_the_shards_whose_bytes_no_longer_match(copy, demo_tree, built):
    flipped = copy / "train" / "train-000001.tar"
    data = bytearray(flipped.read_bytes())
    data[3000] ^= 0xFF  # same size: a plain resume cannot tell
    flipped.write_bytes(bytes(data))
    (copy / "val" / "val-000000.tar").unlink()
    result = runner.invoke(app, ["verify", str(copy), "--no-progress"])
    assert result.exit_code == 1
    assert "2 shards no longer match the manifest" in result.output
    assert "--repair" in result.output

    report = run(copy, demo_tree)  # a resume rebuilds the missing shard only
    assert report.shards_built == 1
    assert not verify(copy).ok
    result = runner.invoke(app, [
        "build", "--src", "celebamask-hq", "--root", str(demo_tree), "--out", str(copy),
        "--size", "64", "--shard-size", "4", "--maps", ",".join(MAPS), "--workers", "1",
        "--no-progress", "--repair",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 shards built, 4 already complete" in result.output
    assert shard_bytes(copy) == shard_bytes(built)
    assert verify(copy).ok
