"""The JSON Schemas in docs/ describe what a build really writes, and reject what it does not."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from facedata.masks import FAMILIES
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.align import AlignConfig
from facedata.pipeline.maps import MaskConfig, MaskStage, ResizeStage
from facedata.pipeline.stages import StageContext
from facedata.sample import Sample
from facedata.shards.reader import iter_samples, load_manifest
from facedata.sources import SOURCES, SourceConfig
from facedata.sources.demo import demo_face

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_committed_schema_is_the_one_the_code_declares():
    from facedata.pipeline.schema import sample_metadata_schema

    spec = importlib.util.spec_from_file_location("make_schemas", DOCS / "make_schemas.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert (DOCS / "sample-metadata.schema.json").read_text() == generator.render(), (
        "docs/sample-metadata.schema.json is stale: run python docs/make_schemas.py"
    )
    schema = sample_metadata_schema()
    # Every part comes from a declaring writer: the mask stage's families, the sources' names.
    assert schema["$defs"]["mask_family"]["enum"] == [k for k in FAMILIES if k != "mixed"]
    assert schema["properties"]["source"]["enum"] == list(SOURCES)
    assert schema["properties"]["crop"] == ResizeStage.meta_schema["properties"]["crop"]


def validator(name: str, definition: str | None = None) -> jsonschema.Draft202012Validator:
    schema = json.loads((DOCS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    if definition is not None:  # one of the file's $defs as the root
        schema = {"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    return jsonschema.Draft202012Validator(schema)


def problems(validator: jsonschema.Draft202012Validator, instance) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


@pytest.fixture(scope="module")
def samples(full_build):
    out, _ = full_build
    return list(iter_samples(out))


def test_every_sample_of_a_build_with_every_map_is_valid(full_build, samples):
    out, _ = full_build
    check = validator("sample-metadata.schema.json")
    manifest = load_manifest(out)
    assert len(samples) == manifest["attempted"] == 25
    for sample in samples:
        meta = sample["json"]
        assert problems(check, meta) == [], sample["__key__"]
        assert meta["key"] == sample["__key__"]
        assert set(meta["maps"]) == set(manifest["maps"])
    photo = next(s["json"] for s in samples if s["__key__"] == "demo-astronaut")
    assert photo["align"]["method"] == "ffhq" and photo["maps"]["parsing"] == "segmentation"
    assert {"attributes", "pose", "celeba_hq_id"}.isdisjoint(photo)


def test_manifest_build_state_and_stats_are_valid(full_build):
    out, _ = full_build
    manifest = load_manifest(out)
    assert problems(validator("manifest.schema.json"), manifest) == []
    state = json.loads((out / "build.json").read_text())
    assert problems(validator("manifest.schema.json", "build_state"), state) == []
    stats = sorted(out.glob("*/*_stats.json"))
    assert len(stats) == sum(len(s["shards"]) for s in manifest["splits"].values())
    check = validator("manifest.schema.json", "shard_stats")
    for path in stats:
        assert problems(check, json.loads(path.read_text())) == [], path


def test_mask_metadata_of_every_family_is_valid():
    """The build above draws SC-FEGAN masks only: run the mask stage for each family."""
    check = validator("sample-metadata.schema.json", "mask")
    image, labels = demo_face(size=64)
    for kind in FAMILIES:
        stage = MaskStage(MaskConfig(kind=kind, count=3), StageContext(size=64, seed=0))
        for index in range(4):
            sample = Sample(key=f"s{index}", image=image, parsing=labels, meta={})
            stage.process(sample)
            assert problems(check, sample.meta["mask"]) == [], (kind, sample.meta["mask"])
            masks = validator("sample-metadata.schema.json", "masks")
            assert problems(masks, sample.meta["masks"]) == []


def test_folder_source_and_failure_lines_are_valid(tmp_path):
    from PIL import Image

    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 30, 4), np.uint8), "RGBA").save(root / "cut.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "out"
    report = build(
        BuildConfig(
            out=str(out),
            size=32,
            maps=("mask",),
            progress=False,
            split="none",
            max_failure_rate=1.0,
        ),  # failure lines are what this test checks
        SourceConfig("folder", root=str(root)),
        {"align": AlignConfig(method="none", landmarks=False)},
    )
    assert report.written == 1 and len(report.failures) == 1
    (sample,) = iter_samples(out)
    meta = sample["json"]
    assert problems(validator("sample-metadata.schema.json"), meta) == []
    assert meta["conversion"] == "RGBA composited on white" and meta["crop"] == [0, 5, 30]
    assert problems(validator("manifest.schema.json"), load_manifest(out)) == []
    lines = (out / "failures.jsonl").read_text().splitlines()
    check = validator("manifest.schema.json", "failure")
    assert [problems(check, json.loads(line)) for line in lines] == [[]]
    assert json.loads(lines[0])["stage"] == "load"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(split="training"), "'training' is not one of"),
        (lambda m: m.pop("key"), "'key' is a required property"),
        (lambda m: m.update(key="a.b"), "does not match"),
        (lambda m: m["maps"].update(sketch="canny"), "'canny' is not one of"),
        (lambda m: m["mask"].update(family="deepfill"), "is not valid under any"),
        (lambda m: m["mask"].pop("eyes_from"), "'eyes_from' is a required property"),
        (lambda m: m.pop("mask"), "'mask' is a required property"),
        (lambda m: m["landmarks"].pop(), "is too short"),
        (lambda m: m["components"]["nose"].update(box=[1, 2, 3]), "is too short"),
        (lambda m: m["edit"]["operations"].append({"op": "warp"}), "is not valid under any"),
        (lambda m: m.update(extra=1), "Additional properties"),
    ],
)
def test_schema_rejects_what_a_build_never_writes(samples, change, message):
    meta = copy.deepcopy(next(s["json"] for s in samples if s["__key__"] == "demo-000001"))
    change(meta)
    found = problems(validator("sample-metadata.schema.json"), meta)
    assert any(message in p for p in found), found
