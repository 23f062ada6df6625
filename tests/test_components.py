"""Component boxes and patches, and a build with ``--maps components,edits`` read back."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.errors import ConfigError
from facedata.features.components import (
    COMPONENT_CLASSES,
    COMPONENTS,
    DEFAULT_CENTRES,
    ComponentSizes,
    blank_boxes,
    component_boxes,
    crop,
    square_box,
)
from facedata.pipeline.editing import ComponentsStage
from facedata.pipeline.maps import resize_labels
from facedata.pipeline.stages import StageContext
from facedata.sample import Sample
from facedata.shards.reader import iter_samples, load_manifest
from facedata.sources import SourceConfig, get_source


@pytest.fixture(scope="module")
def demo_maps(demo_tree):
    source = get_source(SourceConfig(name="celebamask-hq", root=str(demo_tree)))
    return [source.load(ref).parsing for ref in source.refs()]


class TestBoxes:
    def test_square_box_shifts_inside_the_frame(self):
        assert square_box((50.0, 50.0), 20, (100, 100)) == (40, 40, 60, 60)
        assert square_box((3.0, 97.0), 20, (100, 100)) == (0, 80, 20, 100)
        assert square_box((99.0, 0.0), 100, (100, 100)) == (0, 0, 100, 100)
        with pytest.raises(ValueError, match="does not fit"):
            square_box((50.0, 50.0), 101, (100, 100))

    @pytest.mark.parametrize("size", [512, 256])
    def test_boxes_contain_their_component(self, demo_maps, size):
        sizes = ComponentSizes()
        for labels in demo_maps:
            labels = resize_labels(labels, size)
            boxes = component_boxes(labels.shape, labels=labels, sizes=sizes)
            for name in COMPONENTS:
                x0, y0, x1, y1 = boxes[name]["box"]
                side = sizes.side(name, size)
                assert (x1 - x0, y1 - y0) == (side, side)
                assert 0 <= x0 and 0 <= y0 and x1 <= size and y1 <= size
                inside = np.zeros(labels.shape, bool)
                inside[y0:y1, x0:x1] = True
                part = np.isin(labels, COMPONENT_CLASSES[name])
                assert part.any() and np.all(inside[part]), name
                assert boxes[name]["from"] == "labels"

    def test_sides_scale_with_the_image(self):
        sizes = ComponentSizes()
        assert [sizes.side(n, 512) for n in COMPONENTS] == [128, 128, 160, 192]
        assert [sizes.side(n, 256) for n in COMPONENTS] == [64, 64, 80, 96]
        with pytest.raises(ConfigError, match="1-512"):
            ComponentSizes(mouth=600)

    def test_landmarks_win_over_labels(self):
        landmarks = np.zeros((68, 2), np.float32)
        landmarks[36:42] = (100, 200)
        landmarks[42:48] = (300, 200)
        landmarks[27:36] = (200, 260)
        landmarks[48:68] = (200, 330)
        labels = np.zeros((512, 512), np.uint8)
        labels[10:20, 10:20] = 4  # an l_eye far from the landmarks
        boxes = component_boxes((512, 512), labels=labels, landmarks=landmarks)
        assert boxes["l_eye"] == {"box": [36, 136, 164, 264], "from": "landmarks"}
        assert boxes["mouth"] == {"box": [104, 234, 296, 426], "from": "landmarks"}

    def test_missing_component_takes_the_default_place(self):
        boxes = component_boxes((256, 256), labels=np.zeros((256, 256), np.uint8))
        x, y = DEFAULT_CENTRES["nose"]
        assert boxes["nose"] == {"box": list(square_box((x / 2, y / 2), 80, (256, 256))),
                                 "from": "default"}  # fmt: skip


def test_blank_boxes_fill_with_the_median():
    sketch = np.full((40, 40), 255, np.uint8)
    sketch[5:8, :] = 0
    out = blank_boxes(sketch, [(0, 0, 10, 10), (30, 30, 40, 40)])
    assert np.all(out[:10, :10] == 255) and np.all(out[30:, 30:] == 255)
    assert np.array_equal(out[10:30], sketch[10:30]) and np.all(sketch[5:8] == 0)
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 200
    assert blank_boxes(rgb, [(0, 0, 1, 1)])[0, 0].tolist() == [200, 0, 0]


def test_components_needs_a_sketch():
    stage = ComponentsStage(ComponentSizes(), StageContext(size=64, seed=0))
    sample = Sample(
        key="k", image=np.zeros((64, 64, 3), np.uint8), parsing=np.zeros((64, 64), np.uint8)
    )
    stage.run([sample])
    assert sample.error[0] == "components" and "sketch" in sample.error[1]


def test_build_with_components_and_edits_round_trips(demo_tree, tmp_path):
    out = tmp_path / "shards"
    result = CliRunner().invoke(
        app,
        ["build", "--src", "celebamask-hq", "--root", str(demo_tree), "--out", str(out),
         "--size", "256", "--maps", "sketch,components,edits", "--shard-size", "6",
         "--no-progress", "--sketch", "xdog", "--component-sizes", "96,128,160",
         "--edit-factor", "0.4,0.6"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = load_manifest(out)
    assert manifest["stages"]["components"] == {"eye": 96, "nose": 128, "mouth": 160}
    assert manifest["stages"]["edits"]["edit"]["factor"] == [0.4, 0.6]
    fields = set(manifest["fields"])
    for name in (*COMPONENTS, "rest"):
        assert {f"{name}.jpg", f"{name}.sketch.png"} <= fields
    samples = list(iter_samples(out))
    assert len(samples) == 12
    sides = {"l_eye": 48, "r_eye": 48, "nose": 64, "mouth": 80}
    for s in samples:
        boxes = s["json"]["components"]
        for name, side in sides.items():
            assert s[f"{name}.jpg"].shape == (side, side, 3)
            assert s[f"{name}.sketch.png"].shape == (side, side)
            assert np.array_equal(
                s[f"{name}.sketch.png"], crop(s["sketch.png"], boxes[name]["box"])
            )
            diff = np.abs(s[f"{name}.jpg"].astype(int) - crop(s["jpg"], boxes[name]["box"]))
            assert diff.mean() < 4  # both JPEG-encoded once from the same pixels
        rects = [b["box"] for b in boxes.values()]
        assert np.array_equal(s["rest.sketch.png"], blank_boxes(s["sketch.png"], rects))
        assert s["rest.jpg"].shape == (256, 256, 3)
        edited = s["parsing_edit.png"]
        assert edited.shape == (256, 256) and edited.dtype == np.uint8 and edited.max() <= 18
        assert set(s["json"]["edit"]) == {"reference", "factor", "operations"}
