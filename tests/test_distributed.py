"""facedata.data.distributed: rank discovery, the split over ranks × workers, shared epochs.

The end-to-end test spawns 2 gloo ranks (real processes), each with 2 DataLoader workers.
"""

from __future__ import annotations

import json

import pytest
import torch.multiprocessing as mp
from ddp_ranks import batch_and_model, gradients, keys_of, read_as_rank, write_build
from torch.utils.data import DataLoader

from facedata.data import ShardDataset
from facedata.data.distributed import Share, balanced_groups, node_info, slot_share
from facedata.errors import ConfigError, MissingDataError

#: Seven shards, one short: more shards than 2 ranks × 2 workers, unevenly filled.
MANY = [8, 8, 8, 8, 8, 8, 3]
#: Fewer shards than readers.
FEW = [5, 4]


@pytest.fixture(scope="module")
def spawned(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    keys = {"many": write_build(root / "many", MANY), "few": write_build(root / "few", FEW)}
    mp.spawn(read_as_rank, args=(2, str(root)), nprocs=2, join=True)
    ranks = [json.loads((root / f"rank{r}.json").read_text()) for r in range(2)]
    return keys, ranks


@pytest.mark.parametrize(
    "case, build", [("many shards", "many"), ("many shards, spawned workers", "many"),
                    ("few shards", "few")],
)  # fmt: skip
def test_every_sample_once_per_epoch_across_ranks_and_workers(spawned, case, build):
    keys, ranks = spawned
    per_rank = [r[case] for r in ranks]
    assert all(per_rank)  # no rank is left empty
    assert sorted(per_rank[0] + per_rank[1]) == sorted(keys[build])
    # Before: inside a DataLoader worker the process group is invisible, so both ranks read
    # everything.


def test_shares_are_balanced(spawned):
    _, ranks = spawned
    assert sorted(len(r["many shards"]) for r in ranks) == [24, 27]  # shards of 8 and one of 3
    assert sorted(len(r["few shards"]) for r in ranks) == [4, 5]  # sample-level: ±1


def test_epoch_length_gives_every_rank_the_same_count(spawned):
    keys, ranks = spawned
    shares = [r["equal length"] for r in ranks]
    assert [len(s) for s in shares] == [20, 20]
    assert set(shares[0]).isdisjoint(shares[1]) and set(shares[0] + shares[1]) <= set(keys["many"])


def test_repeating_with_fewer_shards_than_readers_feeds_every_rank(spawned):
    keys, ranks = spawned
    for r in ranks:
        assert len(r["few shards, repeat"]) == 30 and set(r["few shards, repeat"]) <= set(
            keys["few"]
        )
    # Before: one rank got nothing and the other looped forever, so a DDP job hung.


def test_explicit_rank_and_world_size_split_like_a_process_group(tmp_path):
    keys = write_build(tmp_path, MANY)
    parts = [
        keys_of(DataLoader(ShardDataset(tmp_path, fields=("jpg",), rank=r, world_size=3),
                           batch_size=None, num_workers=2))
        for r in range(3)
    ]  # fmt: skip
    assert sorted(sum(parts, [])) == sorted(keys) and all(parts)
    with pytest.raises(ConfigError, match="both rank= and world_size="):
        ShardDataset(tmp_path, fields=("jpg",), rank=1)
    with pytest.raises(MissingDataError, match="holds 3 samples, fewer than the 4 ranks"):
        ShardDataset(write_build(tmp_path / "tiny", [3]) and tmp_path / "tiny", fields=("jpg",),
                     rank=0, world_size=4)  # fmt: skip


def test_rank_comes_from_the_environment_of_torchrun(monkeypatch):
    assert node_info() == (0, 1)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert node_info() == (2, 3)
    assert node_info(0, 2) == (0, 2)  # explicit arguments win over the environment
    monkeypatch.setenv("RANK", "3")
    with pytest.raises(ConfigError, match=r"rank 3 is not in \[0, world_size=3\)"):
        node_info()


def test_set_epoch_reaches_persistent_workers(tmp_path):
    write_build(tmp_path, MANY)
    ds = ShardDataset(tmp_path, fields=("jpg",), shuffle=50, seed=1)
    loader = DataLoader(ds, batch_size=None, num_workers=2, persistent_workers=True)
    first = keys_of(loader)
    ds.set_epoch(1)
    second = keys_of(loader)
    fresh = ShardDataset(tmp_path, fields=("jpg",), shuffle=50, seed=1, epoch=1)
    assert second == keys_of(DataLoader(fresh, batch_size=None, num_workers=2))
    assert second != first and sorted(second) == sorted(first)
    # Before: persistent workers kept reading epoch 0.


def test_balanced_groups_and_slot_shares():
    assert balanced_groups([8, 8, 8, 8, 8, 8, 3], 4) == [[0, 4], [1, 5], [2, 6], [3]]
    assert balanced_groups([1, 1], 3) == [[0], [1], []]
    share = slot_share([5, 4], rank=1, world_size=2, worker=1, num_workers=2)
    assert share == Share([0, 1], stride=4, offset=3)


def test_averaged_gradients_are_the_gradients_of_the_whole_batch(spawned):
    _, ranks = spawned
    x, y, model = batch_and_model()
    whole = gradients(model, x, y)
    for r in ranks:
        for got, expected in zip(r["gradients"], whole):
            assert got == pytest.approx(expected, rel=1e-5, abs=1e-7)
