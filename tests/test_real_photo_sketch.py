"""The adaptive XDoG fallback on a real photograph (scikit-image's astronaut, NASA, public
domain): sharp, blurred, screened like a print, and enlarged from a small face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import sketch_reference as reference
from skimage.data import astronaut

from facedata.align import LandmarkDetector, align_ffhq
from facedata.features import sketch
from facedata.pipeline.maps import resize_image
from facedata.sources import SourceConfig, get_source
from facedata.sources.demo import write_demo_tree


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    photo = astronaut()
    return align_ffhq(photo, LandmarkDetector()(photo)[0].landmarks, size=512)[0]


def fragments_under(lines: np.ndarray, pixels: int) -> int:
    _, _, stats, _ = cv2.connectedComponentsWithStats(lines.view(np.uint8), connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] < pixels).sum())


def test_noise_level_reads_the_noise_of_a_flat_image():
    rng = np.random.default_rng(0)
    flat = np.full((256, 256), 128.0) + rng.normal(0, 5, (256, 256))
    assert sketch.noise_level(flat) == pytest.approx(5.0, rel=0.05)
    assert sketch.noise_level(np.full((64, 64), 90, np.uint8)) == 0.0


def test_hysteresis_keeps_weak_pixels_joined_to_strong_ones():
    edge = np.array([[0.9, 0.5, 0.0, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0]])
    expected = np.array([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(sketch.hysteresis(edge, high=0.8, low=0.4), expected)


@pytest.mark.parametrize("kind", ["sharp", "blurred", "screened"])
def test_line_share_stays_in_range_without_short_fragments(face, kind):
    image = face
    if kind == "blurred":  # the blurred crops gave 0.18% line pixels
        image = cv2.GaussianBlur(face, (0, 0), 3.0)
    elif kind == "screened":  # a halftone print: a dot screen over the photo
        ys, xs = np.mgrid[0:512, 0:512]
        screen = 0.75 + 0.25 * np.cos(xs * 2.1) * np.cos(ys * 2.1)
        image = np.clip(face * screen[..., None], 0, 255).astype(np.uint8)
    style = sketch.SketchStyle()
    lines = sketch.xdog_sketch(image, style=style)
    assert 0.01 <= lines.mean() <= 0.12  # the range (the aim is style.xdog_lines)
    assert fragments_under(lines, style.xdog_fragment) == 0
    np.testing.assert_array_equal(lines, sketch.xdog_sketch(image, style=style))


def test_an_enlarged_face_draws_curves_not_its_pixel_grid(face):
    small = cv2.resize(face, (56, 56), interpolation=cv2.INTER_AREA)
    blocky = cv2.resize(small, (512, 512), interpolation=cv2.INTER_LINEAR)

    def straight_share(lines: np.ndarray) -> float:
        # Line pixels in horizontal or vertical runs of 6 or more: the stairs of a grid.
        runs = np.zeros_like(lines)
        for grid in (lines, lines.T):
            count = cv2.filter2D(grid.view(np.uint8), cv2.CV_16S, np.ones((1, 6)), anchor=(0, 0),
                                 borderType=cv2.BORDER_CONSTANT) == 6  # fmt: skip
            run = cv2.dilate(count.view(np.uint8), np.ones((1, 6), np.uint8), anchor=(5, 0)) > 0
            runs |= (run if grid is lines else run.T) & lines
        return runs.sum() / lines.sum()

    as_if_sharp = sketch.xdog_sketch(blocky, enlargement=1.0)
    adapted = sketch.xdog_sketch(blocky, enlargement=512 / 56)
    assert straight_share(adapted) < 0.7 * straight_share(as_if_sharp)


@pytest.fixture(scope="module")
def drawn_faces(tmp_path_factory) -> list[np.ndarray]:
    """Two demo drawings at 512 px: flat colours, so XDoG goes on to its coarser scales."""
    root = write_demo_tree(tmp_path_factory.mktemp("drawn"), count=2)
    source = get_source(SourceConfig(name="celebamask-hq", root=str(root)))
    return [resize_image(source.load(ref).image, 512) for ref in source.refs()]


def test_xdog_sketch_matches_the_step_by_step_reference(face, drawn_faces, monkeypatch):
    images = [face, cv2.GaussianBlur(face, (0, 0), 3.0), *drawn_faces]
    halves = []
    spied = sketch._dark_edges
    monkeypatch.setattr(
        sketch, "_dark_edges", lambda c, **kw: halves.append(kw["half"]) or spied(c, **kw)
    )
    for image in images:
        np.testing.assert_array_equal(sketch.xdog_sketch(image), reference.xdog_sketch(image))
    np.testing.assert_array_equal(
        sketch.xdog_sketch(face, enlargement=3.0), reference.xdog_sketch(face, enlargement=3.0)
    )
    assert True in halves and False in halves  # both routes of dark_edges were compared


def test_half_size_dark_edges_is_close_to_the_full_size_one(face):
    for sigma in (2.8, 5.6):
        full = sketch.dark_edges(face, sigma=sigma)
        half = sketch.dark_edges(face, sigma=sigma, half=True)
        np.testing.assert_array_equal(half, reference.dark_edges(face, sigma=sigma, half=True))
        error = np.abs(half - full) / full.max()
        assert error.mean() < 0.002 and np.percentile(error, 99) < 0.03
    with pytest.raises(ValueError, match="sigma > sqrt"):
        sketch.dark_edges(face, sigma=1.4, half=True)


def test_hysteresis_matches_labelling_with_scipy(face):
    edge = sketch.nms(sketch.dark_edges(face, sigma=1.4))
    for high in (0.005, 0.02, 0.08):
        np.testing.assert_array_equal(
            sketch.hysteresis(edge, high=high, low=high / 2),
            reference.hysteresis(edge, high=high, low=high / 2),
        )
