"""Field specs: the one description of each field that verify, preview, readers and schema use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facedata.data import ShardDataset
from facedata.errors import ConfigError
from facedata.pipeline.schema import maps_schema
from facedata.preview.config import PreviewConfig
from facedata.preview.grid import BAND, pick_samples, shard_grid, tile
from facedata.shards.fields import (
    FieldSpec,
    field_spec_schema,
    manifest_specs,
    registered_specs,
    specs_for_shards,
)
from facedata.shards.reader import load_manifest, shard_paths
from facedata.shards.verify import check_sample

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_problems_follow_the_spec():
    labels = FieldSpec("parsing.png", "labels", max_value=18)
    ok = np.zeros((8, 8), np.uint8)
    assert labels.problems(ok, size=8) == []
    bad = ok.copy()
    bad[0, 0] = 19
    assert labels.problems(bad, size=8) == ["parsing.png holds label id 19 (valid: 0-18)"]
    assert labels.problems(ok[:, :4], size=8) == ["parsing.png is 4x8, expected 8x8"]
    assert labels.problems(ok.astype(np.int32), size=8) == [
        "parsing.png has dtype int32, expected uint8"
    ]
    cells = FieldSpec("hog.npy", "cells", side=4, depth=9, dtype="float16")
    assert cells.problems(np.zeros((2, 2, 9), np.float16), size=8) == []
    assert cells.problems(np.zeros((2, 2, 8), np.float16), size=8) == [
        "hog.npy has shape (2, 2, 8), expected (2, 2, 9)"
    ]
    nan = np.full((2, 2, 9), np.nan, np.float16)
    assert cells.problems(nan, size=8) == ["hog.npy holds NaN or infinite values"]
    patch = FieldSpec("nose.jpg", "image", side=None, depth=3)
    assert patch.problems(np.zeros((5, 3, 3), np.uint8), size=8) == []


def test_a_spec_refuses_what_no_reader_knows():
    with pytest.raises(ConfigError, match="kind 'float' is not one of image"):
        FieldSpec("x.png", "float")
    with pytest.raises(ConfigError, match="must end in an encoding"):
        FieldSpec("x.tif", "gray")
    with pytest.raises(ConfigError, match="preview 'fancy'"):
        FieldSpec("x.png", "gray", preview="fancy")


def test_a_build_records_the_specs_of_every_field_it_wrote(full_build):
    out, _ = full_build
    manifest = load_manifest(out)
    specs = manifest_specs(manifest)
    assert sorted([*specs, "json"]) == manifest["fields"]
    assert specs["masks.npy"].kind == "packed"  # two masks per sample
    assert specs["hog.npy"].side == 8 and specs["hog.npy"].depth == 9
    for spec in specs.values():
        assert FieldSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    # The same specs reach readers of the shards alone, and every sample meets them.
    assert specs_for_shards([str(p) for p in shard_paths(out)]) == specs
    from facedata.shards.reader import iter_samples

    for sample in iter_samples(out):
        assert check_sample(sample, 64, manifest["fields"], specs) == []


def test_registered_specs_cover_the_built_in_fields():
    specs = registered_specs()
    assert {"jpg", "parsing.png", "mask.png", "sketch.png", "hog.npy", "rest.jpg"} <= set(specs)
    assert len({s.tensor for s in specs.values()}) == len(specs)  # tensor names are unique


def test_the_schemas_hold_what_the_stages_declare():
    schema = json.loads((DOCS / "manifest.schema.json").read_text())
    assert schema["$defs"]["field_spec"] == field_spec_schema()
    schema = json.loads((DOCS / "sample-metadata.schema.json").read_text())
    assert schema["$defs"]["maps"] == maps_schema()


def test_dataset_serves_every_field_with_a_tensor(full_build):
    out, _ = full_build
    specs = manifest_specs(load_manifest(out))
    fields = [n for n, s in specs.items() if s.tensor and s.kind != "packed"]
    item = next(iter(ShardDataset(out, fields=fields, size=32, shuffle=0)))
    assert item["parsing_edit"].shape == (32, 32) and item["hog_glyphs"].shape == (1, 32, 32)
    assert item["hog"].shape == (9, 8, 8)  # cells are never resized
    assert item["rest"].shape == (3, 32, 32)
    assert item["nose"].shape[0] == 3 and item["nose"].shape[1:] != (32, 32)  # patches keep theirs
    with pytest.raises(ConfigError, match="no tensor conversion for field 'masks.npy'"):
        ShardDataset(out, fields=("masks.npy",))


def test_preview_draws_by_style_and_shows_the_photo(full_build):
    out, _ = full_build
    keys = [s["__key__"] for s in pick_samples(out, 3)]
    assert len(keys) == 3 and keys[-1] == "demo-astronaut"
    grid = shard_grid(out, PreviewConfig(count=3, tile_size=32))
    specs = manifest_specs(load_manifest(out))
    columns = [s for s in specs.values() if s.preview]
    assert grid.shape == (BAND + 3 * 32, len(columns) * 32, 3)
    hog = [i for i, c in enumerate(columns) if c.name == "hog.png"][0]
    drawn = grid[BAND:, hog * 32 : (hog + 1) * 32]
    raw = np.mean([s["hog.png"].mean() for s in pick_samples(out, 3)])
    assert drawn.mean() > 3 * raw  # the faint glyphs are stretched for display
    faint = np.zeros((4, 4), np.uint8)
    faint[0, 0] = 40
    assert tile(faint, 4, style="stretch")[0, 0].tolist() == [255, 255, 255]
    assert tile(faint, 4, style="gray")[0, 0].tolist() == [40, 40, 40]
    hole = tile(faint, 4, style="hole", under=np.full((4, 4, 3), 7, np.uint8))
    assert hole[0, 0].tolist() == [255, 255, 255] and hole[1, 1].tolist() == [7, 7, 7]


def test_a_manifest_without_specs_gets_the_registered_ones():
    registered = registered_specs()
    assert manifest_specs({"splits": {}}) == registered  # written by another tool
    assert manifest_specs({"fields": ["jpg", "json", "mask.png"]}) == {
        "jpg": registered["jpg"], "mask.png": registered["mask.png"]
    }  # fmt: skip
