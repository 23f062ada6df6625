"""The offline segmentation parser on a real photograph (scikit-image's astronaut, NASA,
public domain), aligned as a build aligns it."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from facedata.align import LandmarkDetector, align_ffhq, transform_points
from facedata.features.head_parsing import SEGMENTATION_CLASSES, head_parsing
from facedata.features.landmark_parsing import landmark_parsing
from facedata.labels import LABEL
from facedata.pipeline.parsing import ParsingConfig, ParsingStage
from facedata.pipeline.sketch import SketchConfig, SketchStage
from facedata.pipeline.stages import StageContext
from facedata.shards.inspect import format_summary, summarize


@pytest.fixture(scope="module")
def aligned() -> tuple[np.ndarray, np.ndarray]:
    photo = astronaut()
    landmarks = LandmarkDetector()(photo)[0].landmarks
    image, matrix = align_ffhq(photo, landmarks, size=256)
    return image, transform_points(landmarks, matrix)


def test_hair_covers_the_crown_and_only_known_classes_appear(aligned):
    image, landmarks = aligned
    labels = head_parsing(image, landmarks)
    assert labels.shape == (256, 256) and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= {LABEL[c] for c in SEGMENTATION_CLASSES}
    # Her hair fills the top of the aligned crop between the temples (FFHQ puts the eyes at
    # about 0.4 of the height), and nothing else is drawn there.
    crown = labels[20:60, 100:156]
    assert (crown == LABEL["hair"]).mean() > 0.95
    assert {LABEL[c] for c in ("hair", "neck", "skin", "nose", "l_brow", "r_brow")} <= set(
        np.unique(labels)
    )
    # Mostly neck under the chin (point 8); its shadow may read as cloth.
    chin = landmarks[8]
    below = labels[int(chin[1]) + 6 : int(chin[1]) + 12, int(chin[0]) - 4 : int(chin[0]) + 4]
    assert (below == LABEL["neck"]).mean() > 0.5


def test_skin_stays_out_of_the_fringe(aligned):
    image, landmarks = aligned
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0]
    top = int(landmarks[17:27, 1].min()) - 10  # above the brows' own hairs and shadow
    cheeks = landmark_parsing(landmarks, image.shape[:2])[top + 70 : top + 90] == LABEL["skin"]
    dark = np.percentile(lightness[top + 70 : top + 90][cheeks], 10)

    def dark_forehead_skin(labels: np.ndarray) -> int:
        return int(((labels[:top] == LABEL["skin"]) & (lightness[:top] < dark)).sum())

    # The landmark forehead runs up into her fringe; the segmentation gives most of it back
    # to the hair.
    before = dark_forehead_skin(landmark_parsing(landmarks, image.shape[:2]))
    after = dark_forehead_skin(head_parsing(image, landmarks))
    assert before > 1000 and after < 0.5 * before


def test_deterministic_and_checked(aligned):
    image, landmarks = aligned
    np.testing.assert_array_equal(head_parsing(image, landmarks), head_parsing(image, landmarks))
    with pytest.raises(ValueError, match="expected an"):
        head_parsing(image[..., 0], landmarks)
    with pytest.raises(ValueError, match=r"expected \(68, 2\) landmarks"):
        head_parsing(image, landmarks[:5])


def test_fallbacks_are_announced_by_the_stage_class_not_each_worker(caplog):
    assert "no eyeglasses" in ParsingStage.notice(ParsingConfig())
    assert ParsingStage.notice(ParsingConfig(parser="annotations")) is None
    assert "no hair" in ParsingStage.notice(ParsingConfig(parser="landmarks"))
    assert "XDoG" in SketchStage.notice(SketchConfig())
    assert SketchStage.notice(SketchConfig(method="xdog")) is None
    with caplog.at_level(logging.WARNING):
        SketchStage(SketchConfig(), StageContext(size=64, seed=0)).setup()
    assert caplog.records == []


def test_a_build_says_each_fallback_once_whatever_the_workers(tmp_path, caplog):
    from facedata.pipeline import BuildConfig, build
    from facedata.sources import SourceConfig
    from facedata.sources.demo import write_demo_tree, write_photos

    root = write_demo_tree(tmp_path / "demo", count=3)
    write_photos(root)
    config = BuildConfig(out=str(tmp_path / "out"), size=64, maps=("parsing", "sketch"),
                         workers=2, shard_size=2, progress=False)  # fmt: skip
    with caplog.at_level(logging.WARNING):
        build(config, SourceConfig(name="demo", root=str(root)))
    text = caplog.text
    assert text.count("sketches come from XDoG") == 1
    assert text.count("parsed by segmentation: no eyeglasses, hat") == 1
    # inspect sums up which methods, fallbacks included, made the maps.
    summary = summarize(tmp_path / "out")
    assert summary["methods"] == {
        "parsing": {"annotations": 3, "segmentation": 1},
        "sketch": {"xdog": 4},
    }
    told = format_summary(summary)
    assert "segmentation 1 (fallback)" in told and "xdog 4 (fallback)" in told
    assert "annotations 3 (fallback)" not in told
