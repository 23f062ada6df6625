"""facedata.shards.reader: strict reading of damaged shards, by iter_shard and ShardDataset."""

from __future__ import annotations

import logging
import shutil
import tarfile

import numpy as np
import pytest

from facedata.data import ShardDataset
from facedata.errors import ConfigError, CorruptShardError
from facedata.shards.reader import iter_samples, iter_shard, manifest_entry, shard_paths
from facedata.shards.writer import ShardWriter


def write_shard(path, n=48):
    with ShardWriter(path) as w:
        for i in range(n):
            w.write(f"k{i:03d}", {"jpg": np.full((8, 8, 3), i, np.uint8), "json": {"i": i}})
    return path


def member_offsets(path):
    with tarfile.open(path) as tar:
        return [m.offset for m in tar]


@pytest.fixture
def build(training_build, tmp_path):
    """A writable copy of the training build, and its first train shard."""
    out = shutil.copytree(training_build, tmp_path / "build")
    return out, shard_paths(out, "train")[0]


def damage(shard, how):
    data = bytearray(shard.read_bytes())
    offsets = member_offsets(shard)
    if how == "member boundary":
        data = data[: offsets[len(offsets) // 2 + 1]]
    elif how == "header byte":
        data[offsets[len(offsets) // 2] + 5] ^= 0xFF  # a byte of a member's name
    elif how == "half":
        data = data[: len(data) // 2]
    elif how == "payload byte":
        data[offsets[1] + 512 + 40] ^= 0xFF  # inside the second member's bytes
    shard.write_bytes(bytes(data))


def test_a_sound_shard_reads_whole_with_its_manifest_entry(build):
    out, shard = build
    entry = manifest_entry(shard)
    assert entry is not None and entry["count"] == 4
    keys = [s["__key__"] for s in iter_shard(shard)]
    assert len(keys) == 4 and keys == sorted(keys)
    assert [s["__key__"] for s in iter_shard(shard, expected=None)] == keys


@pytest.mark.parametrize("how", ["member boundary", "header byte", "half"])
def test_a_damaged_tar_raises_naming_the_shard_and_the_last_good_key(tmp_path, how):
    shard = write_shard(tmp_path / "a.tar")
    damage(shard, how)
    read = []
    with pytest.raises(CorruptShardError) as info:
        for sample in iter_shard(shard):
            read.append(sample["__key__"])
    assert str(shard) in str(info.value)
    # The last key it names is the last sample handed out; nothing after the damage is.
    assert f"after sample {read[-1]!r}" in str(info.value)
    assert len(read) < 48
    assert read == [f"k{i:03d}" for i in range(len(read))]
    # Before: tarfile read 45 of 48 samples without a word, or raised a bare ReadError.


def test_the_manifest_count_and_sha256_are_checked(build):
    out, shard = build
    damage(shard, "payload byte")
    with pytest.raises(CorruptShardError, match=r"sha256 .* differs from the manifest's .*all 4"):
        list(iter_shard(shard, decoded=False))
    assert len(list(iter_shard(shard, decoded=False, expected=None))) == 4
    entry = dict(manifest_entry(shard), sha256=None, count=5)
    with pytest.raises(CorruptShardError, match=r"\(4 of 5 samples read: fewer samples"):
        list(iter_shard(shard, decoded=False, expected=entry))


def test_handlers_skip_count_and_warn(tmp_path, caplog):
    shard = write_shard(tmp_path / "a.tar", n=6)
    data = bytearray(shard.read_bytes())
    offsets = member_offsets(shard)
    data[offsets[4] + 512 : offsets[4] + 522] = b"\0" * 10  # k002.jpg: not a JPEG any more
    shard.write_bytes(bytes(data))
    with pytest.raises(CorruptShardError, match=r"a\.tar: sample 'k002'"):
        list(iter_shard(shard))
    problems = []
    keys = [s["__key__"] for s in iter_shard(shard, handler=problems.append)]
    assert keys == ["k000", "k001", "k003", "k004", "k005"]
    assert len(problems) == 1 and "'k002'" in str(problems[0])
    with caplog.at_level(logging.WARNING):
        assert len(list(iter_shard(shard, handler="warn"))) == 5
    assert "k002" in caplog.text and "skipped" in caplog.text
    with pytest.raises(ConfigError, match="handler='ignore'"):
        list(iter_shard(shard, handler="ignore"))


@pytest.mark.parametrize("how", ["member boundary", "header byte", "half", "payload byte"])
def test_shard_dataset_and_iter_samples_catch_every_damage(build, how):
    out, shard = build
    damage(shard, how)
    with pytest.raises(CorruptShardError, match=str(shard)):
        list(ShardDataset(out, split="train", fields=("jpg",), shuffle=0))
    with pytest.raises(CorruptShardError, match=str(shard)):
        list(iter_samples(out, "train", decoded=False))
    total = sum(manifest_entry(p)["count"] for p in shard_paths(out, "train"))
    ds = ShardDataset(out, split="train", fields=("jpg",), shuffle=0, handler="skip")
    items = list(ds)
    assert ds.skipped == 1
    assert len(items) < total if how != "payload byte" else len(items) == total


def test_verify_names_a_cut_shard_by_its_structure_and_its_count_once(build):
    from facedata.shards.verify import verify

    out, shard = build
    damage(shard, "member boundary")
    problems = [p for p in verify(out).problems if p.startswith(shard.parent.name)]
    assert any("end-of-archive marker" in p for p in problems)
    assert sum("samples, the manifest says 4" in p for p in problems) == 1
    assert not any("fewer samples than the manifest" in p for p in problems)
