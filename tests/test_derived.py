"""Derived fields: left out with --no-store-derived, and served bit-identical by every reader."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import facedata
from facedata.data import ShardDataset, export_folders
from facedata.errors import ConfigError
from facedata.features.derived import face_png, hog_png
from facedata.labels import hair_mask
from facedata.pipeline import BuildConfig, build, stages
from facedata.preview.config import PreviewConfig
from facedata.preview.grid import shard_grid
from facedata.shards.codec import decode, encode
from facedata.shards.derive import unstored
from facedata.shards.fields import Derivation, FieldSpec
from facedata.shards.inspect import format_summary, summarize
from facedata.shards.reader import iter_samples, load_manifest
from facedata.shards.verify import verify
from facedata.sources import SourceConfig

MAPS = ("parsing", "face", "hair", "mask", "hog")
DERIVED = ["face.png", "hair.png", "hog.png"]


def run(out, root, **options):
    config = BuildConfig(out=str(out), size=64, shard_size=4, maps=MAPS, progress=False, **options)
    build(config, SourceConfig("celebamask-hq", root=str(root)))
    return out


@pytest.fixture(scope="module")
def pair(demo_tree, tmp_path_factory):
    """The demo tree built twice: derived fields stored, and left out."""
    base = tmp_path_factory.mktemp("derived")
    return run(base / "stored", demo_tree), run(base / "left-out", demo_tree, store_derived=False)


def members(out):
    return {m for t in sorted(out.glob("*/*.tar")) for m in tarfile.open(t).getnames()}


def test_the_manifest_says_what_was_left_out(pair):
    stored, left_out = pair
    full, lean = load_manifest(stored), load_manifest(left_out)
    assert full["derived_fields"] == [] and lean["derived_fields"] == DERIVED
    assert full["build"]["store_derived"] is True and lean["build"]["store_derived"] is False
    assert set(full["fields"]) - set(lean["fields"]) == set(DERIVED)
    assert not any(m.endswith(tuple(DERIVED)) for m in members(left_out))
    assert sum(s["bytes"] for s in lean["splits"].values()) < sum(
        s["bytes"] for s in full["splits"].values()
    )
    # Both describe every field, derivation included.
    assert [s["name"] for s in full["field_specs"]] == [s["name"] for s in lean["field_specs"]]
    hog = next(s for s in lean["field_specs"] if s["name"] == "hog.png")
    assert hog["derive"] == {
        "sources": ["hog.npy"], "function": "facedata.features.derived:hog_png",
        "params": {"cell": 8},
    }  # fmt: skip


@pytest.mark.parametrize("decoded", [True, False])
def test_iter_samples_gives_identical_samples(pair, decoded):
    stored, left_out = pair
    a = list(iter_samples(stored, decoded=decoded))
    b = list(iter_samples(left_out, decoded=decoded))
    assert [s["__key__"] for s in a] == [s["__key__"] for s in b] and len(a) == 12
    for x, y in zip(a, b):
        assert sorted(x) == sorted(y)
        for field in x:
            if decoded and field not in ("__key__", "json"):
                np.testing.assert_array_equal(x[field], y[field])
            else:  # raw: the derived bytes are those the writer stored
                assert x[field] == y[field], field


def test_stored_derived_fields_are_their_derivations(pair):
    stored, _ = pair
    for sample in iter_samples(stored):
        np.testing.assert_array_equal(sample["face.png"], face_png(sample["parsing.png"], size=64))
        np.testing.assert_array_equal(sample["hair.png"], hair_mask(sample["parsing.png"]))
        np.testing.assert_array_equal(
            sample["hog.png"], hog_png(sample["hog.npy"], size=64, cell=8)
        )
        assert sample["hog.png"].max() == 255


def test_shard_dataset_gives_identical_tensors(pair):
    fields = ("jpg", "parsing.png", "face.png", "hair.png", "hog.npy", "hog.png", "mask.png")
    for size in (None, 32):
        a = list(ShardDataset(pair[0], fields=fields, size=size, shuffle=0))
        b = list(ShardDataset(pair[1], fields=fields, size=size, shuffle=0))
        assert len(a) == len(b) == 12
        for x, y in zip(a, b):
            assert x.keys() == y.keys() and {"face", "hair", "hog_glyphs"} <= x.keys()
            for name in x:
                assert name == "__key__" or torch.equal(x[name], y[name]), name


def test_a_derived_field_alone_reads_its_source(pair):
    (item,) = list(ShardDataset(pair[1], fields=("hair.png",), shuffle=0, split="val"))[:1]
    assert item.keys() == {"__key__", "hair"} and item["hair"].shape == (1, 64, 64)


def test_preview_export_and_inspect_serve_them(pair, tmp_path):
    stored, left_out = pair
    grid = PreviewConfig(count=4)
    np.testing.assert_array_equal(shard_grid(stored, grid), shard_grid(left_out, grid))
    export_folders(stored, tmp_path / "a", progress=False)
    export_folders(left_out, tmp_path / "b", progress=False)
    files_a, files_b = (
        {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        for root in (tmp_path / "a", tmp_path / "b")
    )
    assert files_a == files_b and any(p.parent.name == "hog.png" for p in files_a)
    summary = summarize(left_out)
    assert summary["derived_fields"] == DERIVED
    text = format_summary(summary)
    assert "hog.png" in text and "not stored: readers derive it from hog.npy" in text


def test_both_builds_verify(pair):
    for out in pair:
        report = verify(out)
        assert report.ok, report.problems


def rewrite_member(tar_path, name, change):
    """Replace one member's bytes (``change(bytes) -> bytes``), keeping every other."""
    with tarfile.open(tar_path) as tar:
        entries = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(tar_path, "w") as tar:
        for member, data in entries:
            if member.name == name:
                data = change(data)
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def copy_build(out, tmp_path):
    import shutil

    return shutil.copytree(out, tmp_path / out.name)


def flipped(field):
    def change(data):
        value = decode(field, data).copy()
        value[:4, :4] = 255 - value[:4, :4]
        return encode(field, value)

    return change


def test_verify_catches_a_stored_derived_field_that_is_not_its_derivation(pair, tmp_path):
    out = copy_build(pair[0], tmp_path)
    shard = sorted(out.glob("train/*.tar"))[0]
    key = tarfile.open(shard).getnames()[0].split(".")[0]
    rewrite_member(shard, f"{key}.hair.png", flipped("hair.png"))
    problems = verify(out).problems
    assert any(
        f"{key}: hair.png differs from its derivation from parsing.png" in p for p in problems
    ), problems


def test_verify_derives_the_left_out_fields_and_checks_them(pair, tmp_path):
    out = copy_build(pair[1], tmp_path)
    shard = sorted(out.glob("train/*.tar"))[0]
    key = tarfile.open(shard).getnames()[0].split(".")[0]

    def bad_histograms(data):  # still a valid array, of a shape no derivation accepts
        return encode("hog.npy", decode("hog.npy", data)[:, :, 0])

    rewrite_member(shard, f"{key}.hog.npy", bad_histograms)
    problems = verify(out).problems
    assert any(f"{key}: sample {key!r}: hog.png cannot be derived from hog.npy" in p
               for p in problems), problems  # fmt: skip


def test_derivations_read_lossless_fields_only():
    with pytest.raises(ConfigError, match="losslessly encoded"):
        Derivation(("jpg",), "facedata.features.derived:face_png")
    with pytest.raises(ConfigError, match="stored losslessly"):
        FieldSpec("face.jpg", "image", derive=Derivation(("parsing.png",), "m:f"))


def test_an_unimportable_derivation_says_what_to_do():
    with pytest.raises(ConfigError, match="cannot be imported.*--store-derived"):
        Derivation(("parsing.png",), "no_such_module:f").resolve()


def test_a_source_left_out_keeps_its_derived_fields_stored():
    face = FieldSpec("face.png", "binary", derive=Derivation(("parsing.png",), "m:f"))
    assert unstored([face], ["face.png", "parsing.png"]) == ("face.png",)
    assert unstored([face], ["face.png"]) == ()  # --maps face: parsing.png is not stored


def test_face_without_parsing_stores_face(demo_tree, tmp_path):
    config = BuildConfig(out=str(tmp_path / "o"), size=64, maps=("face",), progress=False,
                         store_derived=False)  # fmt: skip
    build(config, SourceConfig("celebamask-hq", root=str(demo_tree)))
    manifest = load_manifest(tmp_path / "o")
    assert manifest["derived_fields"] == [] and "face.png" in manifest["fields"]
    assert "parsing.png" not in manifest["fields"]


def inverted(gray: np.ndarray, *, size: int, offset: int) -> np.ndarray:
    """A plugin's derivation: the grey map inverted, plus an offset."""
    del size
    return (255 - gray + offset).astype(np.uint8)


@dataclass(frozen=True)
class PlainConfig:
    offset: int = 3


def test_a_plugin_declares_a_derived_field_the_same_way(demo_tree, tmp_path, monkeypatch):
    monkeypatch.setattr(stages, "_REGISTERED", {})  # this test's registration stays here

    class GreyStage(facedata.Stage):
        name = "grey_derived_test"
        Config = PlainConfig

        @classmethod
        def field_specs(cls, config):
            return (
                FieldSpec("grey.png", "gray", tensor="grey", preview="gray"),
                FieldSpec("inverted.png", "gray", tensor="inverted", preview="gray",
                          derive=Derivation(("grey.png",), inverted, {"offset": config.offset})),
            )  # fmt: skip

        def process(self, sample):
            sample.fields["grey.png"] = sample.image[..., 1].copy()

    facedata.register_stage(GreyStage)
    outs = []
    for store in (True, False):
        out = tmp_path / f"store-{store}"
        build(
            BuildConfig(out=str(out), size=64, maps=("grey_derived_test",), workers=1,
                        progress=False, store_derived=store),
            SourceConfig("celebamask-hq", root=str(demo_tree)),
        )  # fmt: skip
        assert verify(out).ok
        outs.append(out)
    assert load_manifest(outs[1])["derived_fields"] == ["inverted.png"]
    a, b = (list(iter_samples(o)) for o in outs)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["inverted.png"], y["inverted.png"])
        np.testing.assert_array_equal(x["inverted.png"], inverted(x["grey.png"], size=64, offset=3))


@pytest.mark.parametrize("export", ["hf", "controlnet"])
def test_the_parquet_exports_serve_them(pair, tmp_path, export):
    pq = pytest.importorskip("pyarrow.parquet")
    from facedata.data.exports import export_controlnet, export_hf

    tables = []
    for name, out in zip("ab", pair):
        if export == "hf":
            export_hf(out, tmp_path / name, progress=False)
        else:
            export_controlnet(out, tmp_path / name, conditioning="hog.png", progress=False)
        files = sorted((tmp_path / name).rglob("*.parquet"))
        assert files
        tables.append({p.relative_to(tmp_path / name): pq.read_table(p) for p in files})
    assert tables[0].keys() == tables[1].keys()
    for key, table in tables[0].items():
        assert table.equals(tables[1][key]), key
    if export == "hf":
        (first,) = [t for k, t in tables[1].items() if "train" in str(k)][:1]
        assert {"face_png", "hair_png", "hog_png"} <= set(first.column_names)
