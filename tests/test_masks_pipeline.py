"""Masks in builds, evaluation sets, the CLI, on-the-fly training and the preview."""

from __future__ import annotations

import json
from dataclasses import asdict

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.data import ShardDataset
from facedata.errors import ConfigError
from facedata.masks import MaskContext, MaskSpec, coverage, parse_buckets, unpack_masks
from facedata.masks.evalset import EVAL_KEY, write_mask_set
from facedata.masks.mixed import MixedMaskConfig
from facedata.masks.online import OnlineMasks
from facedata.pipeline.maps import MaskConfig
from facedata.preview.config import MaskPreviewConfig
from facedata.preview.masks import DEMO_KEY, coverage_histogram, demo_masks, mask_preview
from facedata.shards.reader import iter_samples, load_manifest
from facedata.sources.demo import demo_face

runner = CliRunner()


@pytest.fixture(scope="module")
def masked_build(demo_tree, tmp_path_factory):
    """A 64 px build of the demo tree with 3 mixed masks per sample, 10-60 % coverage."""
    out = tmp_path_factory.mktemp("masked") / "shards"
    result = runner.invoke(
        app,
        ["build", "--src", "celebamask-hq", "--root", str(demo_tree), "--out", str(out),
         "--size", "64", "--seed", "5", "--maps", "parsing,mask", "--mask-kind", "mixed",
         "--masks-per-sample", "3", "--min-coverage", "0.1", "--max-coverage", "0.6",
         "--shard-size", "4", "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_build_masks_round_trip_through_the_shard_reader(masked_build):
    assert "masks.npy" in load_manifest(masked_build)["fields"]
    samples = list(iter_samples(masked_build))
    assert len(samples) == 12
    spec = MaskSpec("mixed", min_coverage=0.1, max_coverage=0.6)
    for s in samples:
        masks = unpack_masks(s["masks.npy"], 64)
        assert masks.shape == (3, 64, 64) and s["masks.npy"].shape == (3, 64, 8)
        assert np.array_equal(masks[0] * 255, s["mask.png"])
        meta = s["json"]
        assert meta["masks"]["shape"] == [3, 64, 64]
        assert meta["mask"]["kind"] == "mixed"
        assert meta["mask"]["family"] == meta["masks"]["items"][0]["family"]
        context = MaskContext.from_shard(s)
        for k, item in enumerate(meta["masks"]["items"]):
            assert item["coverage"] == round(coverage(masks[k]), 6)
            assert item["in_range"] == (0.1 <= item["coverage"] <= 0.6)
            # Any sample's k-th mask is regenerated alone from (seed, key, k).
            again, info = spec.sample(5, s["__key__"], k, 64, 64, context)
            assert np.array_equal(again, masks[k]) and info["family"] == item["family"]
    assert sum(i["in_range"] for s in samples for i in s["json"]["masks"]["items"]) >= 33
    manifest = load_manifest(masked_build)
    # The family's resolved parameters too (issue 13 item 7): the mixture's weights.
    family = json.loads(json.dumps(asdict(MixedMaskConfig())))
    assert manifest["stages"]["mask"] == {
        "kind": "mixed", "min_coverage": 0.1, "max_coverage": 0.6, "max_tries": 100, "count": 3,
        "family": family,
    }  # fmt: skip


def test_build_rejects_bad_mask_options(tmp_path, demo_tree):
    base = ["build", "--src", "celebamask-hq", "--root", str(demo_tree), "--out",
            str(tmp_path / "x"), "--no-progress"]  # fmt: skip
    result = runner.invoke(app, [*base, "--masks-per-sample", "0"])
    assert result.exit_code == 2 and "--masks-per-sample must be at least 1" in result.output
    result = runner.invoke(app, [*base, "--min-coverage", "0.7", "--max-coverage", "0.2"])
    assert result.exit_code == 2 and "0 <= min <= max <= 1" in result.output
    with pytest.raises(ConfigError, match="unknown mask kind"):
        MaskConfig(kind="holes")


def test_masks_command_writes_a_balanced_evaluation_set(tmp_path):
    out = tmp_path / "eval"
    args = ["masks", "--kind", "lama-thick", "--size", "64", "--count", "20", "--seed", "2",
            "--out", str(out), "--buckets", "10-20,20-30,30-40,40-50", "--no-progress"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    index = json.loads((out / "masks.json").read_text())
    assert index["histogram"] == {
        **dict.fromkeys(index["histogram"], 0), "10-20": 5, "20-30": 5, "30-40": 5, "40-50": 5
    }  # fmt: skip
    assert index["missed"] == 0 and index["params"]["lama-thick"]["max_width"] == [100, 250]
    # The bounds the set was drawn with (LaMa's evaluation rule), recorded as a plain MaskSpec.
    spec = json.loads(json.dumps(asdict(MaskSpec("lama-thick", max_coverage=0.5))))
    assert index["spec"] == spec
    assert sorted(p.name for p in out.iterdir()) == [f"{k:05d}.png" for k in range(20)] + [
        "masks.json"
    ]
    spec = MaskSpec("lama-thick")
    for k, entry in enumerate(index["masks"]):
        png = cv2.imread(str(out / entry["file"]), cv2.IMREAD_UNCHANGED)
        assert set(np.unique(png)) <= {0, 255}
        assert entry["coverage"] == round(coverage(png), 6) and entry["bucket"] == entry["target"]
        target = ("10-20", "20-30", "30-40", "40-50")[k % 4]
        assert entry["target"] == target
        # Mask k of a set is the k-th mask of key "eval": regenerable alone.
        again, _ = spec.sample(2, EVAL_KEY, k, 64, 64, target=parse_buckets(target)[0])
        assert np.array_equal(again * 255, png)
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_mask_set_refuses_face_families_and_foreign_folders(tmp_path):
    with pytest.raises(ConfigError, match="need its label map"):
        write_mask_set(tmp_path / "a", MaskSpec("part"), size=64, count=2, progress=False)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a mask set"):
        write_mask_set(tmp_path / "b", MaskSpec("box"), size=64, count=2, progress=False)


def test_online_masks_are_fresh_per_epoch_and_independent_of_order():
    spec = MaskSpec("deepfill")
    image = np.zeros((48, 48, 3), np.uint8)
    a, b = {"__key__": "a", "jpg": image}, {"__key__": "b", "jpg": image}
    first = OnlineMasks(spec, seed=1)
    a1, a2 = first(a)["mask"], first(a)["mask"]
    assert not np.array_equal(a1, a2)  # a new draw each time the sample comes back
    second = OnlineMasks(spec, seed=1)
    second(b)  # another key first (another worker's order) changes nothing
    assert np.array_equal(second(a)["mask"], a1)
    assert not np.array_equal(OnlineMasks(spec, seed=2)(a)["mask"], a1)


def test_shard_dataset_fresh_masks_follow_the_spec_across_workers(masked_build):
    spec = MaskSpec("box", min_coverage=0.2, max_coverage=0.4)

    def epoch(seed: int) -> dict[str, np.ndarray]:
        dataset = ShardDataset(masked_build, fields=("jpg",), masks="fresh", mask_kind=spec,
                               shuffle=0, seed=seed)  # fmt: skip
        loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=2)
        masks = {}
        for batch in loader:
            assert batch["image"].shape[1:] == (3, 64, 64) and batch["mask"].shape[1] == 1
            masks.update(zip(batch["__key__"], batch["mask"][:, 0].numpy()))
        return masks

    one, same, other = epoch(0), epoch(0), epoch(1)
    assert len(one) == 12  # every sample once: workers read disjoint shards
    assert all(np.array_equal(one[k], same[k]) for k in one)
    assert sum(not np.array_equal(one[k], other[k]) for k in one) >= 10
    assert all(0.2 <= m.mean() <= 0.4 for m in one.values())


def test_preview_masks_are_the_demo_builds_masks():
    spec = MaskSpec("part")
    image, masks = demo_masks(spec, n=3, size=64, seed=4)
    _, labels = demo_face(size=64)
    for k, (mask, info) in enumerate(masks):
        again, _ = spec.sample(4, DEMO_KEY, k, 64, 64, MaskContext(labels=labels))
        assert np.array_equal(mask, again) and info["family"] == "part"
    grid, hist = mask_preview(
        spec, MaskPreviewConfig(count=5, size=64, tile_size=32, histogram_count=20),
        with_histogram=True,
    )
    assert grid.shape == (2 * (32 + 18), 3 * 32, 3) and hist.shape == (360, 640, 3)
    hole = masks[0][0].astype(bool)
    tile, none = mask_preview(spec, MaskPreviewConfig(count=1, size=64, tile_size=64, seed=4))
    assert none is None  # no histogram unless asked for
    tile = tile[:64]
    assert (tile[hole] == 255).all() and not (tile[~hole] == 255).all()


def test_coverage_histogram_bars_grow_with_counts():
    img = coverage_histogram([0.05] * 10 + [0.55] * 5)
    heights = (img == (70, 110, 190)).all(axis=2).sum(axis=0)
    columns = np.nonzero(heights)[0]
    runs = np.split(columns, np.nonzero(np.diff(columns) > 1)[0] + 1)
    assert len(runs) == 2  # two non-empty buckets, the first left of the sixth
    first, sixth = (heights[r].max() for r in runs)
    assert first == pytest.approx(2 * sixth, abs=2)


def test_preview_command_masks_branch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["preview", "masks", "--kind", "gfc", "--n", "4", "--size", "64", "--tile", "48",
            "--out", "grid.png", "--histogram", "hist.png", "--histogram-count", "30"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    grid = cv2.imread("grid.png")
    assert grid.shape == (2 * (48 + 18), 2 * 48, 3) and cv2.imread("hist.png") is not None
    bad = runner.invoke(app, ["preview", "masks", "--kind", "nope", "--out", "x.png"])
    assert bad.exit_code == 2 and "unknown mask kind" in bad.output
