"""Sketch clean-up steps, XDoG, and the sketch stage in a build."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
import sketch_reference as reference
import torch
from hed_weights import bsds_state
from scipy.ndimage import gaussian_filter1d
from skimage import data
from skimage.morphology import thin as skimage_thin
from typer.testing import CliRunner

from facedata import weights
from facedata.errors import ConfigError, MissingWeightsError
from facedata.features import sketch
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.sketch import SketchConfig, SketchStage
from facedata.pipeline.stages import StageContext
from facedata.sample import Sample
from facedata.shards.reader import iter_samples
from facedata.sources import SourceConfig


def soft_lines(shape=(128, 128), specks=(), seed=0):
    """A HED-like map: long strokes ~7 px wide with a soft profile, plus isolated specks."""
    canvas = np.zeros(shape, np.float32)
    cv2.line(canvas, (10, 20), (118, 40), 1.0, 3)
    cv2.circle(canvas, (64, 85), 28, 1.0, 3)
    cv2.ellipse(canvas, (30, 100), (15, 8), 30, 0, 200, 1.0, 3)
    for x, y in specks:
        canvas[y, x] = 1.0
    edge = cv2.GaussianBlur(canvas, (0, 0), 1.5)
    return np.clip(edge / edge.max() * 0.9, 0, 1)


@pytest.fixture(scope="module")
def astronaut_edges():
    """XDoG strength of scikit-image's astronaut photo at 512 px (real texture, many junctions)."""
    image = cv2.resize(data.astronaut(), (512, 512), interpolation=cv2.INTER_AREA)
    return image, sketch.xdog_edges(image, sigma=1.4)


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance (px) from the pixels of ``a`` to the nearest pixel of ``b``."""
    to_b = cv2.distanceTransform((~b).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return float(to_b[a].mean())


def near(mask: np.ndarray, other: np.ndarray, radius: int) -> np.ndarray:
    """Pixels of ``mask`` within ``radius`` of a pixel of ``other``."""
    grown = cv2.dilate(other.astype(np.uint8), np.ones((2 * radius + 1,) * 2, np.uint8)) > 0
    return mask & grown


class TestSteps:
    def test_nms_keeps_the_ridge_of_a_vertical_line(self):
        x = np.arange(64, dtype=np.float32)
        edge = np.tile(np.exp(-((x - 30.0) ** 2) / 8.0), (48, 1))
        out = sketch.nms(edge, sigma=2.0)
        # Far tails are flat along the line, so tiny values survive; the threshold drops them.
        assert set(np.nonzero((out[8:-8] > 0.01).any(axis=0))[0]) == {30}
        np.testing.assert_array_equal(out[:, 30], edge[:, 30])

    def test_nms_on_a_diagonal_line(self):
        yy, xx = np.mgrid[:64, :64].astype(np.float32)
        dist = np.abs(xx - yy) / np.sqrt(2)  # distance to the diagonal
        out = sketch.nms(np.exp(-(dist**2) / 8.0), sigma=2.0)
        inner = out[8:-8, 8:-8] > 0
        assert inner.any() and (dist[8:-8, 8:-8][inner] < 1.0).all()

    def test_the_nms_direction_has_the_same_bits_on_every_call(self, astronaut_edges):
        # OpenCV rounds a few elements differently when its output array is not 32-byte
        # aligned, and where numpy's allocator puts an array changes from call to call.
        _, edge = astronaut_edges
        gy, gx = np.gradient(cv2.GaussianBlur(edge, (0, 0), 2.0))
        (hyy, hyx), (hxy, hxx) = np.gradient(gy), np.gradient(gx)
        hxy += hyx
        first = [part.view(np.uint32).copy() for part in sketch._across(hxx, hxy, hyy)]
        for size in range(1, 9):
            spacer = np.empty(size * 4096 + 16 * size, np.uint8)  # moves later allocations
            for part, again in zip(first, sketch._across(hxx, hxy, hyy)):
                np.testing.assert_array_equal(again.view(np.uint32), part)
            del spacer

    def test_nms_matches_the_trigonometric_direction(self, astronaut_edges):
        _, edge = astronaut_edges
        fast, slow = sketch.nms(edge), reference.nms(edge)
        assert fast.dtype == np.float32
        assert (fast != slow).mean() < 1e-4  # only float near-ties may differ

    def test_thin_gives_one_pixel(self):
        bar = np.zeros((40, 60), bool)
        bar[15:22, 5:55] = True
        out = sketch.thin(bar)
        assert out[:, 10:50].sum(axis=0).max() == 1  # one pixel per column
        assert out.sum() >= 40

    def test_remove_specks_known_answer(self):
        lines = np.zeros((30, 30), bool)
        lines[2, 2:6] = True  # 4 px
        lines[10, 2:12] = True  # 10 px
        lines[20:22, 20:23] = True  # 6 px blob
        out = sketch.remove_specks(lines, min_pixels=6)
        assert not out[2].any() and out[10, 2:12].all() and out[20:22, 20:23].all()
        assert out.sum() == 16

    def test_remove_specks_with_more_components_than_16_bit_labels(self):
        dots = np.zeros((600, 600), bool)
        dots[::2, ::2] = True  # 90,000 one-pixel components
        dots[0] = True  # and one line of 600
        np.testing.assert_array_equal(sketch.remove_specks(dots, min_pixels=1), dots)
        kept = sketch.remove_specks(dots, min_pixels=2)
        assert kept[0].all() and kept.sum() == 600

    def test_trace_covers_every_pixel_once_and_finds_loops(self):
        lines = np.zeros((64, 64), np.uint8)
        cv2.circle(lines, (20, 20), 12, 1, 1)
        cv2.line(lines, (40, 5), (40, 60), 1, 1)
        cv2.line(lines, (40, 30), (60, 30), 1, 1)  # a T junction
        lines = sketch.thin(lines.astype(bool))
        strokes = sketch.trace_strokes(lines)
        drawn = np.zeros(lines.shape, int)
        for points, _ in strokes:
            drawn[points[:, 1].astype(int), points[:, 0].astype(int)] += 1
        np.testing.assert_array_equal(drawn, lines)  # every pixel, once
        assert sum(closed for _, closed in strokes) == 1
        # The T: the junction pixel alone, and three strokes ending beside it.
        lengths = sorted(len(points) for points, closed in strokes if not closed)
        assert lengths[0] == 1 and len(lengths) == 4 and sum(lengths) == lines[:, 35:].sum()

    def test_strokes_are_pixel_paths(self, astronaut_edges):
        _, edge = astronaut_edges
        lines = sketch.remove_specks(sketch.thin(sketch.nms(edge) >= 0.1), min_pixels=10)
        strokes = sketch.trace_strokes(lines)
        count = np.zeros(lines.shape, int)
        for points, closed in strokes:
            xy = points.astype(int)
            count[xy[:, 1], xy[:, 0]] += 1
            steps = np.abs(np.diff(xy, axis=0)).max(axis=1) if len(xy) > 1 else np.ones(1)
            assert (steps == 1).all()  # consecutive points are 8-neighbours
            if closed:
                assert np.abs(xy[0] - xy[-1]).max() == 1 and len(xy) >= 4
        np.testing.assert_array_equal(count, lines)
        assert sum(closed for _, closed in strokes) > 0

    def test_thin_matches_scikit_image(self, astronaut_edges):
        _, edge = astronaut_edges
        lines = edge >= 25 / 255  # 2-10 px wide lines and blobs
        np.testing.assert_array_equal(sketch.thin(lines), skimage_thin(lines))
        blobs = np.random.default_rng(0).random((64, 80)) < 0.55
        np.testing.assert_array_equal(sketch.thin(blobs), skimage_thin(blobs))

    def test_thin_matches_scikit_image_on_the_xdog_searchs_masks(self, astronaut_edges):
        # The hysteresis masks xdog_sketch thins, at the thresholds it tries; lines touching
        # the image border; a full image and an empty one.
        image, _ = astronaut_edges
        edge = sketch.nms(sketch.dark_edges(image, sigma=1.4))
        masks = [sketch.hysteresis(edge, high=h, low=h / 2) for h in (0.004, 0.02, 0.06)]
        masks += [np.ones((9, 7), bool), np.zeros((5, 6), bool), masks[0][:40, :50]]
        for mask in masks:
            np.testing.assert_array_equal(sketch.thin(mask), skimage_thin(mask))

    def test_smoothing_matches_a_filter_per_stroke(self, astronaut_edges):
        _, edge = astronaut_edges
        photo = sketch.remove_specks(sketch.thin(sketch.nms(edge) >= 0.1), min_pixels=10)
        loops = np.zeros((96, 96), np.uint8)  # loops shorter than the filter, and arcs
        rng = np.random.default_rng(3)
        for cx, cy in np.stack(np.meshgrid([16, 48, 80], [16, 48, 80]), -1).reshape(-1, 2):
            axes = tuple(int(a) for a in rng.integers(2, 12, 2))
            end = 360 if rng.random() < 0.7 else 200
            cv2.ellipse(loops, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, end, 1)
        loops = sketch.thin(loops > 0)
        assert sum(closed for _, closed in sketch.trace_strokes(loops)) >= 3
        for lines in (photo, loops):
            expected = np.zeros(lines.shape, np.uint8)
            for points, closed in sketch.trace_strokes(lines):
                if len(points) > 2:
                    mode = "wrap" if closed else "nearest"
                    smooth = gaussian_filter1d(points, 1.5, axis=0, mode=mode)
                    if not closed:
                        smooth[[0, -1]] = points[[0, -1]]
                    points = smooth
                fixed = np.rint(points * 16).astype(np.int32)
                fixed = np.repeat(fixed, 2, axis=0) if len(fixed) == 1 else fixed
                cv2.polylines(expected, [fixed], closed, 1, 1, cv2.LINE_8, shift=4)
            np.testing.assert_array_equal(sketch.smooth_strokes(lines, sigma=1.5), expected > 0)

    def test_smoothing_with_zero_sigma_is_a_round_trip(self):
        lines = sketch.thin(sketch.nms(soft_lines()) >= 0.1)
        np.testing.assert_array_equal(sketch.smooth_strokes(lines, sigma=0), lines)

    def test_smoothing_straightens_a_zigzag(self):
        lines = np.zeros((40, 100), bool)
        xs = np.arange(5, 95)
        ys = 20 + np.array([0, 1, 0, -1])[xs % 4]  # a one-pixel zigzag around row 20
        lines[ys, xs] = True
        lines = sketch.thin(lines)
        smooth = sketch.smooth_strokes(lines, sigma=2.0)
        rows = np.nonzero(smooth[:, 15:85])[0]
        assert np.ptp(np.nonzero(lines[:, 15:85])[0]) == 2
        assert set(rows) == {20}  # one straight row once smoothed
        assert smooth[:, 5].any() and smooth[:, 94].any()  # ends kept

    def test_width_jitter_is_seeded(self):
        lines = sketch.thin(sketch.nms(soft_lines()) >= 0.1)
        a = sketch.smooth_strokes(lines, sigma=1, width_jitter=2, rng=np.random.default_rng(1))
        b = sketch.smooth_strokes(lines, sigma=1, width_jitter=2, rng=np.random.default_rng(1))
        thin = sketch.smooth_strokes(lines, sigma=1)
        np.testing.assert_array_equal(a, b)
        assert a.sum() > 1.5 * thin.sum()
        with pytest.raises(ValueError, match="rng"):
            sketch.smooth_strokes(lines, sigma=1, width_jitter=2)

    def test_equalize_raises_local_contrast(self):
        rng = np.random.default_rng(0)
        flat = (120 + rng.integers(0, 8, (64, 64, 1))).repeat(3, axis=2).astype(np.uint8)
        out = sketch.equalize(flat)
        assert out.shape == flat.shape and out.dtype == np.uint8
        assert out.std() > 2 * flat.std()

    def test_style_validation(self):
        with pytest.raises(ConfigError, match="threshold"):
            sketch.SketchStyle(threshold=2.0)
        with pytest.raises(ConfigError, match="width_jitter"):
            sketch.SketchStyle(width_jitter=-1)


class TestClean:
    def test_keeps_long_lines_and_removes_specks(self):
        specks = [(100, 10), (5, 60), (120, 120), (90, 60)]
        edge = soft_lines(specks=specks)
        out = sketch.clean(edge)
        assert set(np.unique(out)) == {0, 255}
        line = out > 0
        truth = sketch.thin(soft_lines() > 0.5)  # centre lines of the strokes alone
        found = near(truth, line, 2).sum() / truth.sum()
        assert found > 0.95
        assert near(line, truth, 3)[line].all() is not False  # every drawn pixel is on a stroke
        for x, y in specks:
            assert not line[max(0, y - 3) : y + 4, max(0, x - 3) : x + 4].any()

    def test_lines_are_one_pixel_wide(self):
        line = sketch.clean(soft_lines()) > 0
        blocks = line[:-1, :-1] & line[1:, :-1] & line[:-1, 1:] & line[1:, 1:]
        assert not blocks.any()

    def test_xdog_matches_the_formula(self, astronaut_edges):
        image, edge = astronaut_edges
        np.testing.assert_array_equal(edge, reference.xdog_edges(image, sigma=1.4))
        gray = image[..., 1]
        np.testing.assert_array_equal(
            sketch.xdog_edges(gray, sigma=1.4), reference.xdog_edges(gray, sigma=1.4)
        )

    def test_same_drawing_as_the_per_pixel_reference(self, astronaut_edges):
        _, edge = astronaut_edges
        fast, slow = sketch.clean(edge) > 0, reference.clean(edge) > 0
        assert abs(int(fast.sum()) - int(slow.sum())) < 0.02 * slow.sum()
        assert mean_distance(fast, slow) < 0.1 and mean_distance(slow, fast) < 0.1
        assert np.percentile(cv2.distanceTransform((~slow).astype(np.uint8), 2, 5)[fast], 99) <= 1.5

    def test_xdog_finds_a_step_and_an_isoluminant_colour_edge(self):
        step = np.full((64, 64), 200, np.uint8)
        step[:, 32:] = 40
        edge = sketch.xdog_edges(step, sigma=1.0)
        assert edge[:, 10:24].max() == 0 and edge[:, 44:].max() == 0  # flat: no line
        assert edge[:, 30:36].max() > 0.9  # the edge
        red, green = (200, 60, 60), (38, 125, 38)  # nearly equal luminance
        img = np.zeros((64, 64, 3), np.uint8)
        img[:, :32], img[:, 32:] = red, green
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        assert sketch.xdog_edges(gray, sigma=1.0).max() < 0.5
        assert sketch.xdog_edges(img, sigma=1.0)[:, 28:36].max() > 0.9


def demo_source(root):
    return SourceConfig(name="celebamask-hq", root=str(root))


def read(out):
    return list(iter_samples(out))


class TestStage:
    def test_xdog_build_writes_a_sketch_for_every_sample(self, demo_tree, tmp_path):
        out = tmp_path / "shards"
        config = BuildConfig(out=str(out), size=128, maps=("sketch",), progress=False)
        stage = {"sketch": SketchConfig(method="xdog")}
        report = build(config, demo_source(demo_tree), stage)
        samples = read(out)
        assert report.written == len(samples) == 12 and not report.failures
        for s in samples:
            assert s["sketch.png"].shape == (128, 128)
            assert set(np.unique(s["sketch.png"])) == {0, 255}
            assert s["json"]["maps"]["sketch"] == "xdog"

    def test_auto_uses_cached_hed_weights(self, demo_tree, tmp_path, publish):
        torch.save(bsds_state(), tmp_path / "network-bsds500.pth")
        publish("hed-bsds500", tmp_path / "network-bsds500.pth")
        weights.add("hed-bsds500", tmp_path / "network-bsds500.pth")
        out = tmp_path / "shards"
        config = BuildConfig(
            out=str(out), size=64, maps=("sketch",), limit=4, progress=False, device="cpu"
        )
        report = build(config, demo_source(demo_tree), {"sketch": SketchConfig(method="auto")})
        samples = read(out)
        assert report.written == len(samples) == 4 and not report.failures
        assert all(s["json"]["maps"]["sketch"] == "hed-bsds500" for s in samples)
        assert all(s["sketch.png"].shape == (64, 64) for s in samples)

    def test_auto_without_weights_warns_once_and_uses_xdog(self, caplog):
        # The warning is the stage class's notice, said once by the build's main process;
        # a worker's setup says nothing.
        assert "network-bsds500.pth" in SketchStage.notice(SketchConfig())
        stage = SketchStage(SketchConfig(), StageContext(size=64, seed=0, device="cpu"))
        with caplog.at_level(logging.WARNING):
            stage.setup()
        assert stage.method == "xdog"
        assert caplog.text == ""

    def test_explicit_hed_without_weights_is_an_error(self):
        config = SketchConfig(method="hed", weights="hed-controlnet")
        with pytest.raises(MissingWeightsError, match="ControlNetHED.pth"):
            SketchStage.check(config)
        stage = SketchStage(config, StageContext(size=64, seed=0, device="cpu"))
        with pytest.raises(MissingWeightsError, match="facedata weights add hed-controlnet"):
            stage.setup()

    def test_cli_explicit_hed_names_the_file_and_place(self, demo_tree, tmp_path):
        from facedata.cli.app import app

        args = ["build", "--src", "celebamask-hq", "--root", str(demo_tree)]
        args += ["--out", str(tmp_path / "o"), "--maps", "sketch", "--sketch", "hed"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert str(weights.cache_dir() / "network-bsds500.pth") in result.output

    def test_cli_xdog_build(self, demo_tree, tmp_path):
        from facedata.cli.app import app

        out = tmp_path / "o"
        args = ["build", "--src", "celebamask-hq", "--root", str(demo_tree), "--out", str(out)]
        args += ["--maps", "sketch", "--sketch", "xdog", "--size", "64", "--no-progress"]
        result = CliRunner().invoke(app, [*args, "--stroke-jitter", "1"])
        assert result.exit_code == 0, result.output
        samples = read(out)
        assert len(samples) == 12 and all("sketch.png" in s for s in samples)

    def test_bad_method(self):
        with pytest.raises(ConfigError, match="--sketch must be one of"):
            SketchConfig(method="canny")

    def test_one_bad_image_fails_alone(self, tmp_path):
        torch.save(bsds_state(), tmp_path / "w.pytorch")
        config = SketchConfig(method="hed", weights=str(tmp_path / "w.pytorch"))
        stage = SketchStage(config, StageContext(size=32, seed=0, device="cpu"))
        stage.setup()
        good = np.zeros((32, 32, 3), np.uint8)
        cv2.circle(good, (16, 16), 8, (255, 255, 255), 2)
        batch = [
            Sample("a", good.copy()),
            Sample("b", np.zeros((8, 8, 3), np.uint8)),
            Sample("c", good.copy()),
        ]
        stage.run(batch)
        assert batch[0].ok and batch[2].ok and "sketch.png" in batch[0].fields
        assert batch[1].error[0] == "sketch" and "16x16" in batch[1].error[1]
        np.testing.assert_array_equal(batch[0].fields["sketch.png"], batch[2].fields["sketch.png"])
