"""Exports for other trainers, each read back by the library or the rules that trainer uses:
Hugging Face ``datasets`` (hf, controlnet), LaMa's file patterns (lama)."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.data.exports import export_controlnet, export_hf, export_lama
from facedata.data.exports.captions import NO_ATTRIBUTES, caption
from facedata.data.exports.hf import column_name
from facedata.data.exports.lama import lama_stem
from facedata.errors import ConfigError
from facedata.labels import PALETTE
from facedata.masks.sampling import unpack_masks
from facedata.shards.codec import decode
from facedata.shards.reader import iter_samples, load_manifest

datasets = pytest.importorskip("datasets")


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def raw_samples(build):
    return {s["__key__"]: s for s in iter_samples(build, decoded=False)}


def test_hf_export_has_every_field_and_metadata_key_typed(full_build, tmp_path, hf_cache):
    build, _ = full_build
    out = tmp_path / "hf"
    counts = export_hf(build, out, progress=False)
    manifest = load_manifest(build)
    assert counts == {s: info["count"] for s, info in manifest["splits"].items()}
    data = datasets.load_dataset(str(out))
    assert sorted(data) == sorted(manifest["splits"])
    raw = raw_samples(build)
    metas = {k: decode("json", s["json"]) for k, s in raw.items()}
    keys = set().union(*metas.values())
    train = data["train"]
    # The build has keys the first training sample lacks (the photo has no attributes, the
    # drawn faces no credit): each is still a column, null where absent.
    first = metas[train[0]["key"]]
    assert keys - set(first)
    assert keys <= set(train.column_names)
    features = train.features
    assert isinstance(features["image"], datasets.Image)
    assert isinstance(features["mask_png"], datasets.Image)
    assert features["hog_npy"] == datasets.Array3D(shape=(8, 8, 9), dtype="float16")
    assert features["masks_npy"] == datasets.Array3D(shape=(2, 64, 8), dtype="uint8")
    assert features["attributes"]["Smiling"] == datasets.Value("bool")
    as_bytes = train.cast_column("image", datasets.Image(decode=False)).cast_column(
        "mask_png", datasets.Image(decode=False)
    )
    arrays = train.with_format("numpy", columns=["hog_npy", "masks_npy"])
    for i, row in enumerate(train):
        sample = raw[row["key"]]
        meta = metas[row["key"]]
        for key in keys:
            assert row[key] == _with_nulls(meta.get(key), features[key]), key
        assert as_bytes[i]["image"]["bytes"] == sample["jpg"]
        assert as_bytes[i]["mask_png"]["bytes"] == sample["mask.png"]
        assert row["parsing_png"].mode == "L"
        parsing = np.asarray(row["parsing_png"])
        assert np.array_equal(parsing, decode("p.png", sample["parsing.png"]))
        # Stored as float16 (the feature above); the numpy formatter hands floats as float32.
        assert np.array_equal(arrays[i]["hog_npy"], decode("h.npy", sample["hog.npy"]))
        assert np.array_equal(arrays[i]["masks_npy"], decode("m.npy", sample["masks.npy"]))


def _with_nulls(value, feature):
    """A metadata value as its typed column returns it: struct keys other samples have, None."""
    if isinstance(feature, dict) and value is not None:
        return {k: _with_nulls(value.get(k), f) for k, f in feature.items()}
    if isinstance(feature, datasets.List) and value is not None:
        return [_with_nulls(v, feature.feature) for v in value]
    return value


def test_hf_export_fields_and_errors(training_build, tmp_path, hf_cache):
    out = tmp_path / "hf"
    export_hf(training_build, out, fields=["jpg", "mask.png"], splits=["val"], progress=False)
    val = datasets.load_dataset(str(out))["val"]
    assert {"image", "mask_png", "key", "attributes"} <= set(val.column_names)
    assert "sketch_png" not in val.column_names
    with pytest.raises(ConfigError, match="exists; pass --overwrite"):
        export_hf(training_build, out)
    with pytest.raises(ConfigError, match="field.s. nope not in"):
        export_hf(training_build, tmp_path / "x", fields=["nope"])
    with pytest.raises(ConfigError, match="split.s. dev not in"):
        export_hf(training_build, tmp_path / "x", splits=["dev"])
    assert column_name("jpg") == "image" and column_name("l_eye.sketch.png") == "l_eye_sketch_png"


@pytest.mark.parametrize(
    ("attributes", "text"),
    [
        ({"Smiling": True, "Young": True, "Wavy_Hair": True, "Blond_Hair": True,
          "Wearing_Earrings": True, "Male": False}, "a smiling young woman with wavy blond "
         "hair, wearing earrings"),
        ({"Male": True, "No_Beard": False, "Black_Hair": True, "Eyeglasses": True,
          "Wearing_Hat": True}, "a man with black hair and a beard, wearing eyeglasses and a hat"),
        ({"Male": True, "No_Beard": False, "Goatee": True, "Bald": True, "Gray_Hair": True},
         "a bald man with a goatee"),
        ({"Black_Hair": True, "Brown_Hair": True, "Bangs": True, "Heavy_Makeup": True,
          "Wearing_Lipstick": True, "Wearing_Necklace": True},
         "a woman with black hair and bangs, wearing heavy makeup, lipstick and a necklace"),
        ({"Attractive": True, "Blurry": True, "No_Beard": True}, "a woman"),
        ({}, NO_ATTRIBUTES),
        (None, NO_ATTRIBUTES),
    ],
)  # fmt: skip
def test_caption(attributes, text):
    assert caption(attributes) == text


@pytest.mark.parametrize("conditioning", ["sketch.png", "parsing.png"])
def test_controlnet_export_has_the_columns_train_controlnet_reads(
    full_build, tmp_path, hf_cache, conditioning
):
    build, _ = full_build
    out = tmp_path / "controlnet"
    export_controlnet(build, out, conditioning=conditioning, progress=False)
    # As train_controlnet.py: load_dataset(--train_data_dir), then its three default columns
    # (in the order it falls back on when they are not named), each image converted to RGB.
    dataset = datasets.load_dataset(str(out))
    train = dataset["train"]
    assert train.column_names[:3] == ["image", "text", "conditioning_image"]
    raw = raw_samples(build)
    texts = set()
    for row in train:
        sample = raw[row["key"]]
        meta = decode("json", sample["json"])
        assert row["text"] == caption(meta.get("attributes"))
        texts.add(row["text"])
        image = np.asarray(row["image"].convert("RGB"))
        assert np.array_equal(image, decode("jpg", sample["jpg"]))
        condition = np.asarray(row["conditioning_image"].convert("RGB"))
        labels = decode(conditioning, sample[conditioning])
        expected = PALETTE[labels] if conditioning == "parsing.png" else np.stack([labels] * 3, -1)
        assert np.array_equal(condition, expected)
    assert NO_ATTRIBUTES in texts and len(texts) > 5  # the photo, and varied drawn faces
    with pytest.raises(ConfigError, match="choose one of"):
        export_controlnet(build, tmp_path / "x", conditioning="jpg")


def test_lama_export_reads_as_lama_does(full_build, tmp_path):
    build, _ = full_build
    out = tmp_path / "lama"
    counts = export_lama(build, out, progress=False)
    manifest = load_manifest(build)
    assert counts == {s: info["count"] for s, info in manifest["splits"].items()}
    raw = raw_samples(build)
    by_stem = {lama_stem(k): s for k, s in raw.items()}
    # Training: LaMa globs indir/**/*.jpg and draws its own masks.
    train = glob.glob(os.path.join(out / "train", "**", "*.jpg"), recursive=True)
    assert len(train) == counts["train"]
    for path in train:
        assert open(path, "rb").read() == by_stem[os.path.basename(path)[:-4]]["jpg"]
    # Evaluation: every *mask*.png pairs with the image named up to its last "_mask".
    for folder, split in (("val", "val"), ("eval", "test")):
        masks = sorted(glob.glob(os.path.join(out / folder, "**", "*mask*.png"), recursive=True))
        assert len(masks) == 2 * counts[split]  # two masks per sample in this build
        for path in masks:
            image_path = path.rsplit("_mask", 1)[0] + ".png"
            stem = os.path.basename(image_path)[:-4]
            sample = by_stem[stem]
            k = int(path.rsplit("_mask", 1)[1][:3])
            image = decode("i.png", open(image_path, "rb").read())
            assert np.array_equal(image, decode("jpg", sample["jpg"]))
            mask = decode("m.png", open(path, "rb").read())
            expected = unpack_masks(decode("m.npy", sample["masks.npy"]), 64)[k] * 255
            assert np.array_equal(mask, expected) and set(np.unique(mask)) <= {0, 255}
    location = (out / "location.yaml").read_text()
    assert f"data_root_dir: {out.resolve()}/" in location
    # A key holding "mask" must not be taken for a mask file, nor lose its image.
    stem = lama_stem("a_mask_b")
    assert "mask" not in stem and f"{stem}_mask000.png".rsplit("_mask", 1)[0] == stem


def test_lama_export_needs_masks_for_evaluation(training_build, tmp_path):
    from facedata.pipeline import BuildConfig, build
    from facedata.sources import SourceConfig

    no_masks = tmp_path / "no-masks"
    build(BuildConfig(out=str(no_masks), size=64, maps=("parsing",), progress=False),
          SourceConfig(name="celebamask-hq", root=str(load_manifest(training_build)["source"]
                                                         ["root"])))  # fmt: skip
    with pytest.raises(ConfigError, match="export --splits train"):
        export_lama(no_masks, tmp_path / "a")
    assert export_lama(no_masks, tmp_path / "b", splits=["train"], progress=False)["train"] > 0


def test_export_command_formats(training_build, tmp_path, hf_cache):
    runner = CliRunner()
    for fmt in ("hf", "lama", "controlnet"):
        out = tmp_path / fmt
        result = runner.invoke(
            app, ["export", str(training_build), "--out", str(out), "--format", fmt,
                  "--no-progress"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "samples in" in result.output
    result = runner.invoke(
        app, ["export", str(training_build), "--out", str(tmp_path / "x"), "--format", "lama",
              "--fields", "jpg"],
    )  # fmt: skip
    assert result.exit_code == 2 and "--fields applies to" in result.output
    result = runner.invoke(
        app, ["export", str(training_build), "--out", str(tmp_path / "x"), "--format", "tfds"]
    )
    assert result.exit_code == 2 and "choose one of folders, hf, lama, controlnet" in result.output
