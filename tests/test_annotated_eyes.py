"""Eyes from annotations: annotated aligned samples skip landmark detection, and say so."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from small_builds import MAPS, build_tree

from facedata.labels import labelled_eyes
from facedata.masks import MaskContext
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.align import AlignConfig
from facedata.pipeline.maps import MaskConfig
from facedata.shards.reader import iter_samples, load_manifest
from facedata.sources import SourceConfig


def samples(out):
    return {s["__key__"]: s for s in iter_samples(out)}


@pytest.fixture(scope="module")
def eyes_build(demo_tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("eyes") / "shards"
    build_tree(out, demo_tree, size=128, shard_size=4)
    return out


def test_annotated_samples_take_their_eyes_from_the_parts(eyes_build):
    found = samples(eyes_build)
    assert len(found) == 12
    for sample in found.values():
        meta = sample["json"]
        assert meta["eyes_from"] == "annotations" and "landmarks" not in meta
        assert "faces" not in meta["align"]  # the detector never ran
        # The centres of the annotated parts, moved into the output frame: within the
        # rounding of nearest-neighbour resizing of the stored label map.
        expected = labelled_eyes(sample["parsing.png"])
        assert np.abs(np.asarray(meta["eyes"]) - expected).max() < 1.0
        assert meta["eyes"][0][0] < meta["eyes"][1][0]  # image-left eye first
        assert meta["mask"]["eyes_from"] == "annotations" and meta["mask"]["eyes"] == 2
    assert load_manifest(eyes_build)["eyes_from"] == {"annotations": 12}


def test_masks_redraw_exactly_from_the_shard(eyes_build):
    # The eyes the strokes aim at are the metadata's: a shard alone redraws its masks.
    config = MaskConfig()
    manifest = load_manifest(eyes_build)
    for key, sample in samples(eyes_build).items():
        context = MaskContext.from_shard(sample)
        assert context.landmarks is None and context.known_eyes is not None
        mask, info = config.sample(manifest["build"]["seed"], key, 0, 128, 128, context)
        np.testing.assert_array_equal(mask * np.uint8(255), sample["mask.png"])
        assert info["eyes_from"] == "annotations"


def test_no_annotated_eyes_detects_landmarks_everywhere(demo_tree, tmp_path):
    out = tmp_path / "forced"
    build(
        BuildConfig(out=str(out), size=128, shard_size=4, progress=False, maps=MAPS),
        SourceConfig("celebamask-hq", root=str(demo_tree)),
        {"align": AlignConfig(annotated_eyes=False)},
    )
    manifest = load_manifest(out)
    assert manifest["stages"]["align"]["annotated_eyes"] is False
    found = samples(out).values()
    detected = sum("landmarks" in s["json"] for s in found)
    assert manifest["eyes_from"] == {"landmarks": detected, "none": 12 - detected}
    for sample in found:
        meta = sample["json"]
        assert "faces" in meta["align"]  # detection ran on every sample
        if "landmarks" in meta:
            assert len(meta["landmarks"]) == 68 and meta["eyes_from"] == "landmarks"
            assert meta["mask"]["eyes_from"] == "landmarks"
        else:
            assert "eyes" not in meta and meta["mask"]["eyes_from"] == "parsing"


def test_a_sample_without_both_annotated_eyes_falls_back_to_detection(demo_tree, tmp_path):
    root = tmp_path / "tree"
    shutil.copytree(demo_tree, root)
    (part,) = root.glob("CelebAMask-HQ-mask-anno/*/00003_r_eye.png")
    part.unlink()
    out = tmp_path / "shards"
    build_tree(out, root, size=128, shard_size=4)
    found = samples(out)
    lone = found["celebamask-hq-000003"]["json"]
    assert "faces" in lone["align"]  # detected, not guessed
    assert lone.get("eyes_from") in (None, "landmarks")
    others = [s["json"]["eyes_from"] for k, s in found.items() if k != "celebamask-hq-000003"]
    assert others == ["annotations"] * 11


def test_maps_that_need_landmarks_turn_annotated_eyes_off(demo_tree, tmp_path):
    out = tmp_path / "components"
    build_tree(out, demo_tree, size=128, shard_size=12, limit=2, maps=("components",))
    manifest = load_manifest(out)
    assert manifest["stages"]["align"]["annotated_eyes"] is False
    assert "annotations" not in manifest["eyes_from"]
