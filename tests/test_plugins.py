"""A map added from outside the package is served by every command and by ShardDataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import facedata
from facedata.errors import ConfigError
from facedata.shards.manifest import checksum
from facedata.shards.reader import iter_samples, iter_shard
from facedata.shards.writer import ShardWriter

REPO = Path(__file__).resolve().parents[1]


def run(
    *args: str, env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=600, cwd=cwd,
        env=os.environ | {"OMP_NUM_THREADS": "1"} | (env or {}),
    )  # fmt: skip


@pytest.fixture(scope="module")
def plugin_build(tmp_path_factory, full_build):
    """The example's build (in its own process), and the FACEDATA_HOME holding the demo."""
    _, home = full_build
    tmp = tmp_path_factory.mktemp("plugin")
    done = run(str(REPO / "examples" / "plugin_stage.py"), str(tmp / "shards"),
               env={"FACEDATA_HOME": str(home)}, cwd=tmp)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return tmp / "shards"


def test_commands_serve_the_plugin_field_without_the_plugin(plugin_build, tmp_path):
    out = plugin_build
    assert run("-m", "facedata", "verify", str(out), "--no-progress").returncode == 0
    text = run("-m", "facedata", "inspect", str(out)).stdout
    assert "gradient.png" in text and "gray" in text
    grid = tmp_path / "grid.png"
    done = run("-m", "facedata", "preview", str(out), "--n", "2", "--tile", "32",
               "--out", str(grid))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "(128x" in done.stdout  # jpg, parsing, mask and gradient columns
    done = run("-m", "facedata", "export", str(out), "--format", "folders",
               "--out", str(tmp_path / "folders"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "folders").glob("*/gradient.png/*.png"))) == 25
    code = (
        "import sys\n"
        "from facedata.data import ShardDataset\n"
        "item = next(iter(ShardDataset(sys.argv[1], fields=('gradient.png',), shuffle=0)))\n"
        "g = item['gradient']\n"
        "print(tuple(g.shape), float(g.min()) >= 0, float(g.max()) <= 1)"
    )
    assert run("-c", code, str(out)).stdout.strip() == "(1, 64, 64) True True"


def test_the_documented_schemas_accept_a_plugin_build(plugin_build):
    jsonschema = pytest.importorskip("jsonschema")
    docs = REPO / "docs"
    manifest = json.loads((plugin_build / "manifest.json").read_text())
    jsonschema.validate(manifest, json.loads((docs / "manifest.schema.json").read_text()))
    schema = json.loads((docs / "sample-metadata.schema.json").read_text())
    for sample in iter_samples(plugin_build):
        assert sample["json"]["maps"]["gradient"] == "sobel-blur1.5"
        jsonschema.validate(sample["json"], schema)


def test_verify_catches_a_corrupt_plugin_field(plugin_build, tmp_path):
    out = tmp_path / "shards"
    import shutil

    shutil.copytree(plugin_build, out)
    path = out / "test" / "test-000000.tar"
    samples = list(iter_shard(path))
    samples[0]["gradient.png"] = np.zeros((32, 32), np.uint8)  # the wrong size
    with ShardWriter(path) as writer:
        for sample in samples:
            writer.write(sample.pop("__key__"), sample)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["splits"]["test"]["shards"][0]["sha256"] = writer.sha256  # only the field is wrong
    manifest["checksum"] = checksum(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))
    stats_path = out / "test" / "test-000000_stats.json"
    stats = json.loads(stats_path.read_text())
    stats["sha256"] = writer.sha256
    stats_path.write_text(json.dumps(stats))
    done = run("-m", "facedata", "verify", str(out), "--no-progress")
    assert done.returncode == 1
    assert "gradient.png is 32x32, expected 64x64" in done.stderr
    assert "1 problems" in done.stderr


PLUGIN = """
from dataclasses import dataclass

import numpy as np

from facedata import FieldSpec, Stage, record


@dataclass(frozen=True)
class EdgeConfig:
    threshold: int = 128


class EdgeStage(Stage):
    name = "edge"
    Config = EdgeConfig
    requires = ("parsing",)
    fields = (FieldSpec("edge.png", "binary", tensor="edge", values=(0, 255), preview="gray"),)

    def process(self, sample):
        on = sample.image.mean(axis=2) >= self.config.threshold
        sample.fields["edge.png"] = on.astype(np.uint8) * np.uint8(255)
        record(sample, "edge", "threshold")
"""


def test_an_installed_entry_point_adds_a_map(tmp_path, full_build):
    _, home = full_build
    site = tmp_path / "site"
    (site / "edgeplug-0.1.dist-info").mkdir(parents=True)
    (site / "edgeplug.py").write_text(PLUGIN)
    (site / "edgeplug-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: edgeplug\nVersion: 0.1\n"
    )
    (site / "edgeplug-0.1.dist-info" / "entry_points.txt").write_text(
        "[facedata.stages]\nedge = edgeplug:EdgeStage\n"
    )
    env = {"PYTHONPATH": str(site), "FACEDATA_HOME": str(home)}
    out = tmp_path / "shards"
    done = run("-m", "facedata", "build", "--src", "demo", "--out", str(out), "--size", "64",
               "--maps", "edge", "--edge-threshold", "100", "--no-progress", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["fields"] == ["edge.png", "jpg", "json"]
    assert manifest["stages"]["edge"] == {"threshold": 100}  # its option came with it
    assert run("-m", "facedata", "verify", str(out), "--no-progress").returncode == 0


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"name": "mask"}, "a stage named 'mask' is already registered"),
        ({"name": "twin", "fields": (facedata.FieldSpec("mask.png", "binary"),)},
         "stage 'mask' already writes mask.png"),
        ({"name": "Upper"}, "must be lowercase"),
    ],
)  # fmt: skip
def test_register_stage_refuses_clashes(attributes, message):
    with pytest.raises(ConfigError, match=message):
        facedata.register_stage(type("Plugin", (facedata.Stage,), attributes))
    with pytest.raises(ConfigError, match="is not a subclass"):
        facedata.register_stage(type("Plugin", (), attributes))


def test_a_stage_defined_again_replaces_itself(monkeypatch):
    from facedata.pipeline import stages

    monkeypatch.setattr(stages, "_REGISTERED", {})  # this test's registrations stay here

    def define():
        class Again(facedata.Stage):
            name = "again"
            fields = (facedata.FieldSpec("again.png", "gray"),)

        return Again

    first, second = define(), define()
    assert facedata.register_stage(first) is first
    assert facedata.register_stage(second) is second  # a notebook cell run twice
    assert stages.stage_class("again") is second


class FlowStage(facedata.Stage):
    """A plugin field with a dotted name and an array encoding: per-cell float pairs."""

    name = "flow"
    fields = (facedata.FieldSpec("flow.fwd.npy", "cells", side=8, depth=2, dtype="float32"),)
    method_schema = {"const": "cell-means"}
    meta_schema = {
        "properties": {
            "flow": {
                "type": "object",
                "required": ["cells"],
                "additionalProperties": False,
                "properties": {"cells": {"type": "integer", "minimum": 1}},
            }
        },
        "required": ["flow"],
    }

    def process(self, sample):
        h, w, _ = sample.image.shape
        cells = sample.image[..., :2].reshape(h // 8, 8, w // 8, 8, 2).mean(axis=(1, 3))
        sample.fields["flow.fwd.npy"] = cells.astype(np.float32)
        sample.meta["flow"] = {"cells": cells.shape[0] * cells.shape[1]}
        facedata.record(sample, "flow", "cell-means")


def test_export_names_a_plugin_fields_files_by_its_spec(monkeypatch, demo_tree, tmp_path):
    from small_builds import build_tree

    from facedata.data import export_folders
    from facedata.pipeline import stages

    monkeypatch.setattr(stages, "_REGISTERED", {})
    facedata.register_stage(FlowStage)
    out = tmp_path / "shards"
    build_tree(out, demo_tree, maps=("flow",), size=32, split="none")
    folders = tmp_path / "folders"
    assert export_folders(out, folders, progress=False) == {"all": 12}
    for sample in iter_samples(out):
        exported = np.load(folders / "all" / "flow.fwd.npy" / f"{sample['__key__']}.npy")
        np.testing.assert_array_equal(exported, sample["flow.fwd.npy"])
        assert exported.shape == (4, 4, 2) and exported.dtype == np.float32
    # Without its spec the file type is not guessed from the name.
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["field_specs"] = [s for s in manifest["field_specs"] if s["name"] != "flow.fwd.npy"]
    manifest["checksum"] = checksum(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(stages, "_REGISTERED", {})
    with pytest.raises(ConfigError, match="declares no field spec for flow.fwd.npy"):
        export_folders(out, tmp_path / "again", progress=False)
    assert export_folders(out, tmp_path / "jpg", fields=("jpg", "json"), progress=False)


def test_the_metadata_schema_covers_a_registered_plugins_keys(monkeypatch, demo_tree, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    from small_builds import build_tree

    from facedata.pipeline import stages
    from facedata.pipeline.schema import sample_metadata_schema

    monkeypatch.setattr(stages, "_REGISTERED", {})
    facedata.register_stage(FlowStage)
    out = tmp_path / "shards"
    build_tree(out, demo_tree, maps=("flow", "mask"), size=32, split="none")
    check = jsonschema.Draft202012Validator(sample_metadata_schema(plugins=True))
    documented = jsonschema.Draft202012Validator(
        json.loads((REPO / "docs" / "sample-metadata.schema.json").read_text())
    )
    metas = [sample["json"] for sample in iter_samples(out)]
    assert len(metas) == 12 and metas[0]["flow"] == {"cells": 16}
    for meta in metas:
        assert list(check.iter_errors(meta)) == []
        # The built-in schema does not know the plugin's key.
        assert any("'flow' was unexpected" in e.message for e in documented.iter_errors(meta))
    wrong = [{**metas[0], "flow": {"cells": 0}}, {k: v for k, v in metas[0].items() if k != "flow"},
             {**metas[0], "maps": {**metas[0]["maps"], "flow": "other"}}]  # fmt: skip
    assert all(list(check.iter_errors(meta)) for meta in wrong)


def test_a_plugin_redeclaring_a_built_in_metadata_key_is_refused(monkeypatch):
    from facedata.pipeline import stages
    from facedata.pipeline.schema import sample_metadata_schema

    monkeypatch.setattr(stages, "_REGISTERED", {})
    clash = type("Clash", (facedata.Stage,), {
        "name": "clash", "meta_schema": {"properties": {"mask": {"type": "string"}}},
    })  # fmt: skip
    facedata.register_stage(clash)
    with pytest.raises(ConfigError, match="stage clash declares metadata properties 'mask'"):
        sample_metadata_schema(plugins=True)
    assert "clash" not in sample_metadata_schema()["$defs"]["maps"]["properties"]
