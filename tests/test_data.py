"""facedata.data: the shard dataset's tensors, splitting, shuffling, fresh masks; the export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.data import ShardDataset, binary_array, export_folders, shard_urls
from facedata.errors import ConfigError, MissingDataError
from facedata.masks import MaskContext, make_mask
from facedata.seeding import sample_rng
from facedata.shards.codec import decode
from facedata.shards.reader import iter_samples, iter_shard, shard_paths

ALL_FIELDS = (
    "jpg",
    "color.png",
    "mask.png",
    "face.png",
    "hair.png",
    "sketch.png",
    "parsing.png",
    "hog.npy",
)


def stored(build, split="train"):
    return {s["__key__"]: s for s in iter_samples(build, split)}


def test_items_are_the_stored_fields_in_network_conventions(training_build):
    expected = stored(training_build)
    items = list(ShardDataset(training_build, split="train", fields=ALL_FIELDS, shuffle=0))
    assert [i["__key__"] for i in items] == list(expected)
    for item in items:
        s = expected[item["__key__"]]
        assert item["image"].shape == (3, 64, 64) and item["image"].dtype == torch.float32
        assert -1 <= item["image"].min() and item["image"].max() <= 1
        torch.testing.assert_close(
            item["image"], torch.from_numpy(s["jpg"].transpose(2, 0, 1) / 127.5 - 1).float()
        )
        torch.testing.assert_close(
            item["color"], torch.from_numpy(s["color.png"].transpose(2, 0, 1) / 127.5 - 1).float()
        )
        for name in ("mask", "face", "hair", "sketch"):
            assert item[name].shape == (1, 64, 64)
            assert set(item[name].unique().tolist()) <= {0.0, 1.0}
            assert torch.equal(item[name][0].bool(), torch.from_numpy(s[f"{name}.png"] == 255))
        assert item["parsing"].dtype == torch.int64
        assert torch.equal(item["parsing"], torch.from_numpy(s["parsing.png"]).long())
        assert item["hog"].shape == (9, 8, 8) and item["hog"].dtype == torch.float32
        assert torch.equal(
            item["hog"], torch.from_numpy(s["hog.npy"].astype(np.float32)).permute(2, 0, 1)
        )


def test_resizing_keeps_conventions_and_thin_lines(training_build):
    item = next(iter(ShardDataset(training_build, fields=ALL_FIELDS, size=32, shuffle=0)))
    assert item["image"].shape == (3, 32, 32) and item["parsing"].shape == (32, 32)
    assert item["mask"].shape == (1, 32, 32) and set(item["mask"].unique().tolist()) <= {0, 1}
    assert item["hog"].shape == (9, 8, 8)  # per-cell histograms are not resampled
    # A 1-pixel line survives shrinking 4× as a sketch, and vanishes from an area map.
    line = np.zeros((8, 8), np.uint8)
    line[1] = 255
    assert binary_array(line, 2, thin=True)[0].tolist() == [[1, 1], [0, 0]]
    assert binary_array(line, 2).sum() == 0
    half = np.zeros((8, 8), np.uint8)
    half[:, :4] = 255
    assert binary_array(half, 4)[0].tolist() == [[1, 1, 0, 0]] * 4


def test_workers_split_the_shards_and_shuffling_is_reproducible(training_build):
    keys = list(stored(training_build))
    assert len(shard_paths(training_build, "train")) >= 3
    ds = ShardDataset(training_build, split="train", fields=("jpg",), shuffle=100, seed=3)
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    first = [item["__key__"] for item in loader]
    assert sorted(first) == sorted(keys)  # every sample once, none twice
    assert [item["__key__"] for item in loader] == first
    assert first != keys
    ds.set_epoch(1)
    assert [item["__key__"] for item in loader] != first


def test_fresh_masks_are_drawn_per_key_and_epoch(training_build):
    samples = stored(training_build)
    ds = ShardDataset(
        training_build, split="train", fields=("jpg",), masks="fresh", size=32, seed=5,
        shuffle=0, repeat=True,
    )  # fmt: skip
    items = [item for _, item in zip(range(2 * len(samples)), ds)]
    for i, item in enumerate(items):
        key, epoch = item["__key__"], i // len(samples)
        context = MaskContext.from_shard(samples[key], 32)
        direct, _ = make_mask("scfegan", 32, 32, sample_rng(5, key, "train-mask", epoch), context)
        assert torch.equal(item["mask"][0], torch.from_numpy(direct).float())
    assert not torch.equal(items[0]["mask"], items[len(samples)]["mask"])
    assert items[0]["__key__"] == items[len(samples)]["__key__"]


def test_missing_fields_name_the_maps_to_rebuild_with(training_build, tmp_path):
    from facedata.shards.writer import ShardWriter

    with ShardWriter(tmp_path / "train-000000.tar") as w:
        w.write("a", {"jpg": np.zeros((8, 8, 3), np.uint8), "mask.png": np.zeros((8, 8), np.uint8)})
    with pytest.raises(MissingDataError, match="has no sketch.png, color.png.*--maps sketch,color"):
        ShardDataset(tmp_path, fields=("jpg", "sketch.png", "color.png"))
    with pytest.raises(ConfigError, match="no tensor conversion for field 'json'"):
        ShardDataset(training_build, fields=("json",))
    with pytest.raises(ConfigError, match="masks='drawn'"):
        ShardDataset(training_build, masks="drawn")


def test_repeating_empty_shards_ends(tmp_path):
    from facedata.shards.writer import ShardWriter

    with ShardWriter(tmp_path / "train-000000.tar"):
        pass
    assert list(ShardDataset(tmp_path, fields=("jpg",), repeat=True)) == []


def test_shard_urls_accept_builds_split_folders_files_and_patterns(training_build):
    train = [str(p) for p in shard_paths(training_build, "train")]
    assert shard_urls(training_build, "train") == train
    assert shard_urls(training_build / "train") == train
    assert shard_urls(train[0]) == train[:1]
    pattern = str(training_build / "train" / "train-{000000..000001}.tar")
    assert shard_urls(pattern) == train[:2]
    with pytest.raises(MissingDataError, match="does not exist"):
        shard_urls(training_build / "nope")
    with pytest.raises(MissingDataError, match="list of shard files is empty"):
        shard_urls([])


def test_export_round_trip(training_build, tmp_path):
    out = tmp_path / "folders"
    result = CliRunner().invoke(
        app, ["export", str(training_build), "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    counts = {}
    for shard in shard_paths(training_build):
        split = shard.parent.name
        for sample in iter_shard(shard, decoded=False):
            key = sample.pop("__key__")
            for field, data in sample.items():
                ext = field.rsplit(".", 1)[-1]
                assert (out / split / field / f"{key}.{ext}").read_bytes() == data
            counts[split] = counts.get(split, 0) + 1
    for split, n in counts.items():
        for field in ALL_FIELDS + ("json",):
            assert len(list((out / split / field).iterdir())) == n
    # The exported files decode to the arrays the dataset reads.
    key = next(iter(stored(training_build)))
    mask = decode("mask.png", (out / "train" / "mask.png" / f"{key}.png").read_bytes())
    assert mask.shape == (64, 64) and mask.dtype == np.uint8
    with pytest.raises(ConfigError, match="exists; pass --overwrite"):
        export_folders(training_build, out)
    counts = export_folders(
        training_build, out, fields=["jpg"], splits=["val"], overwrite=True, progress=False
    )
    assert counts == {"val": 1} and sorted(p.name for p in out.rglob("*") if p.is_dir()) == [
        "jpg",
        "val",
    ]
