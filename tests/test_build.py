"""End-to-end builds: shard contents, readers, determinism, resume, failure reports."""

from __future__ import annotations

import importlib
import json
import shutil
import tarfile

import numpy as np
import pytest
from small_builds import shard_bytes

from facedata.errors import ConfigError
from facedata.labels import face_mask, hair_mask
from facedata.pipeline import BuildConfig, build
from facedata.shards.reader import iter_samples, iter_shard, load_manifest
from facedata.sources import SourceConfig, get_source
from facedata.sources.celebamask_hq import part_path

SIZE = 128
# The package re-exports the function `build`, which hides the module of the same name.
build_module = importlib.import_module("facedata.pipeline.build")


CORE_MAPS = ("parsing", "face", "hair", "mask")


def run(out, root, **kw):
    kw = {"maps": CORE_MAPS} | kw
    config = BuildConfig(out=str(out), size=SIZE, shard_size=4, progress=False, **kw)
    return build(config, SourceConfig("celebamask-hq", root=str(root)))


def test_shards_hold_exact_maps_and_metadata(tmp_path, demo_tree):
    report = run(tmp_path / "out", demo_tree)
    assert (report.written, report.failures) == (12, [])
    manifest = load_manifest(tmp_path / "out")
    # Demo partition: ids with i % 8 < 6 are train, 6 val, 7 test.
    assert {s: v["count"] for s, v in manifest["splits"].items()} == {
        "train": 10, "val": 1, "test": 1
    }  # fmt: skip
    assert manifest["split_rule"] == "celeba"
    source = get_source(SourceConfig("celebamask-hq", root=str(demo_tree)))
    by_key = {r.key: r for r in source.refs()}
    samples = list(iter_samples(tmp_path / "out", "train"))
    assert len(samples) == 10
    s = samples[0]
    ref = by_key[s["__key__"]]
    import cv2

    expected = cv2.resize(source.load(ref).parsing, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(s["parsing.png"], expected)
    np.testing.assert_array_equal(s["face.png"], face_mask(expected))
    np.testing.assert_array_equal(s["hair.png"], hair_mask(expected))
    assert s["jpg"].shape == (SIZE, SIZE, 3)
    assert set(np.unique(s["mask.png"])) <= {0, 255}
    meta = s["json"]
    assert meta["split"] == "train" and meta["source"] == "celebamask-hq"
    assert meta["celeba_file"] == ref.orig_file and meta["attributes"] == ref.meta["attributes"]
    assert meta["maps"] == {"parsing": "annotations", "face": "parsing", "hair": "parsing",
                            "mask": "scfegan"}  # fmt: skip
    cov = np.count_nonzero(s["mask.png"]) / SIZE**2
    assert meta["mask"]["coverage"] == pytest.approx(cov, abs=1e-6)
    shard = manifest["splits"]["train"]["shards"][0]
    assert shard["count"] == 4 and len(shard["sha256"]) == 64


def test_webdataset_and_tarfile_read_the_same_samples(tmp_path, demo_tree):
    import webdataset as wds

    run(tmp_path / "out", demo_tree)
    path = sorted((tmp_path / "out" / "train").glob("*.tar"))[0]
    ours = list(iter_shard(path))
    theirs = list(wds.WebDataset(str(path), shardshuffle=False).decode("rgb8"))
    assert [s["__key__"] for s in theirs] == [s["__key__"] for s in ours]
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a["jpg"], b["jpg"])
        # The stock decoder turns L PNGs into 3 equal channels; the ids must survive.
        np.testing.assert_array_equal(a["parsing.png"], b["parsing.png"][..., 0])
        assert a["json"] == b["json"]
    with tarfile.open(path) as tar:
        names = tar.getnames()
        assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in tar.getmembers())
    assert names[:7] == sorted(names[:7])  # fields of a sample in sorted order


def test_rebuild_is_byte_identical(tmp_path, demo_tree):
    run(tmp_path / "a", demo_tree, seed=3)
    run(tmp_path / "b", demo_tree, seed=3)
    a, b = shard_bytes(tmp_path / "a"), shard_bytes(tmp_path / "b")
    assert a == b and len(a) == 5  # train 3 shards of 4, val 1, test 1
    assert (tmp_path / "a" / "manifest.json").read_text().replace("/a", "/b") == (
        tmp_path / "b" / "manifest.json"
    ).read_text()
    run(tmp_path / "c", demo_tree, seed=4)
    assert shard_bytes(tmp_path / "c") != a


def test_resume_after_interrupted_build_gives_same_bytes(tmp_path, demo_tree, monkeypatch):
    run(tmp_path / "ref", demo_tree)
    real = build_module.build_shard
    calls = []

    def crash_on_third(plan, task, *args):
        calls.append(task.name)
        if len(calls) == 3:
            raise KeyboardInterrupt  # like a kill: not caught as a shard error
        return real(plan, task, *args)

    monkeypatch.setattr(build_module, "build_shard", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "out", demo_tree)
    assert not (tmp_path / "out" / "manifest.json").exists()
    (tmp_path / "out" / "train" / ".train-000001.tar.tmp-999").write_bytes(b"half a shard")
    monkeypatch.setattr(build_module, "build_shard", real)
    report = run(tmp_path / "out", demo_tree)
    assert report.shards_skipped == 2 and report.shards_built == 3
    assert shard_bytes(tmp_path / "out") == shard_bytes(tmp_path / "ref")


def test_bad_inputs_become_failure_lines(tmp_path, demo_tree):
    root = tmp_path / "data"
    shutil.copytree(demo_tree, root)
    jpg = root / "CelebA-HQ-img" / "1.jpg"
    jpg.write_bytes(jpg.read_bytes()[:3000])  # truncated
    part_path(root / "CelebAMask-HQ-mask-anno", 2, "skin").unlink()
    from PIL import Image

    Image.open(root / "CelebA-HQ-img" / "3.jpg").convert("L").save(root / "CelebA-HQ-img" / "3.jpg")
    report = run(tmp_path / "out", root, max_failure_rate=0.2)  # 2 of 12 fail
    assert report.written == 10
    lines = [json.loads(x) for x in (tmp_path / "out" / "failures.jsonl").read_text().splitlines()]
    by_key = {f["key"]: f for f in lines}
    assert set(by_key) == {"celebamask-hq-000001", "celebamask-hq-000002"}
    assert by_key["celebamask-hq-000001"]["stage"] == "load"
    assert "cannot be decoded" in by_key["celebamask-hq-000001"]["error"]
    assert "00002_skin.png is missing" in by_key["celebamask-hq-000002"]["error"]
    gray = next(s for s in iter_samples(tmp_path / "out") if s["__key__"].endswith("000003"))
    assert gray["json"]["conversion"] == "L converted to RGB"
    assert np.all(gray["jpg"][..., 0] == gray["jpg"][..., 1])


def test_other_options_need_overwrite(tmp_path, demo_tree):
    run(tmp_path / "out", demo_tree)
    with pytest.raises(ConfigError, match="--overwrite"):
        run(tmp_path / "out", demo_tree, seed=9)
    report = build(
        BuildConfig(
            out=str(tmp_path / "out"),
            size=SIZE,
            shard_size=4,
            seed=9,
            progress=False,
            maps=CORE_MAPS,
        ),
        SourceConfig("celebamask-hq", root=str(demo_tree)),
        overwrite=True,
    )
    assert report.shards_built == 5


def test_limit_and_split_none(tmp_path, demo_tree):
    report = run(tmp_path / "out", demo_tree, limit=5, split="none")
    assert report.written == 5
    assert list(load_manifest(tmp_path / "out")["splits"]) == ["all"]


def test_required_stages_write_only_the_fields_asked_for(tmp_path, demo_tree):
    run(tmp_path / "out", demo_tree, maps=("face",))
    assert load_manifest(tmp_path / "out")["fields"] == ["face.png", "jpg", "json"]
    sample = next(iter_samples(tmp_path / "out"))
    assert set(sample) == {"__key__", "face.png", "jpg", "json"}  # parsing ran, not written
