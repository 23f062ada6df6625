"""SC-FEGAN colour maps: segment medians, the coarse-grid route against the full-resolution one,
the torch route against OpenCV, and the color/hog stages through a build."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch
from skimage import data
from typer.testing import CliRunner

from facedata.align.detect import LandmarkDetector
from facedata.cli.app import app
from facedata.errors import ConfigError
from facedata.features.bilateral import bilateral_filter
from facedata.features.color import (
    BACKGROUNDS,
    SCFEGAN,
    Smoothing,
    _crops,
    _median_filter,
    color_map,
    fill_segments,
    smooth,
)
from facedata.features.hog import cell_histograms
from facedata.pipeline.color import ColorConfig
from facedata.pipeline.hog import HogConfig
from facedata.pipeline.maps import resize_image, resize_labels
from facedata.shards.reader import iter_samples, load_manifest
from facedata.sources import SourceConfig, get_source
from tests.color_reference import LARGE, photo_case, segment_errors

RNG = np.random.default_rng(19)

#: Fast (factor 4) against naive (factor 1) on 512 x 512 demo faces, per segment, largest
#: channel difference; docs/color.md reports the measured values these bound.
LARGE_SEGMENT_TOLERANCE = 10  # segments of at least 0.5% of the image
PIXEL_WEIGHTED_TOLERANCE = 1.0  # mean over all segments, weighted by their pixel count


@pytest.fixture(scope="module")
def faces(demo_tree):
    """Three 512 x 512 demo faces with their parsing."""
    source = get_source(SourceConfig(name="celebamask-hq", root=str(demo_tree)))
    out = []
    for ref in source.refs()[:3]:
        sample = source.load(ref)
        out.append((resize_image(sample.image, 512), resize_labels(sample.parsing, 512)))
    return out


@pytest.fixture(scope="module")
def astronaut_case():
    """skimage's astronaut, aligned to 512 and parsed from its landmarks, as a build would."""
    return photo_case(data.astronaut(), LandmarkDetector())


def reference_medians(image: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    return {int(k): np.round(np.median(image[labels == k], axis=0)) for k in np.unique(labels)}


class TestFillSegments:
    def test_equals_numpy_median_per_label(self):
        image = RNG.integers(0, 256, (37, 41, 3), dtype=np.uint8)
        labels = RNG.choice(np.array([0, 2, 3, 7, 18], np.uint8), (37, 41))
        labels[:2, :2] = 5  # 4 pixels: an even count, median between the two middle values
        filled = fill_segments(image, labels)
        assert filled.dtype == np.uint8 and filled.shape == image.shape
        for k, median in reference_medians(image, labels).items():
            assert np.all(filled[labels == k] == median), k

    def test_background_zero(self):
        image = RNG.integers(1, 256, (20, 20, 3), dtype=np.uint8)
        labels = np.zeros((20, 20), np.uint8)
        labels[10:] = 13
        filled = fill_segments(image, labels, background="zero")
        assert filled[:10].max() == 0
        assert np.all(filled[10:] == np.round(np.median(image[10:].reshape(-1, 3), axis=0)))

    def test_torch_batch_equals_numpy(self):
        images = RNG.integers(0, 256, (3, 30, 25, 3), dtype=np.uint8)
        labels = RNG.integers(0, 19, (3, 30, 25), dtype=np.uint8)
        labels[1] = 0  # an image with one label only, and labels absent from some images
        for background in ("median", "zero"):
            got = fill_segments(
                torch.from_numpy(images), torch.from_numpy(labels), background=background
            )
            for i in range(3):
                expected = fill_segments(images[i], labels[i], background=background)
                np.testing.assert_array_equal(got[i].numpy(), expected)

    def test_bad_inputs(self):
        image = np.zeros((8, 8, 3), np.uint8)
        with pytest.raises(ValueError, match="leading shape"):
            fill_segments(image, np.zeros((8, 9), np.uint8))
        with pytest.raises(ValueError, match=r"uint8 image of shape \(H, W, C\)"):
            fill_segments(image.astype(np.int32), np.zeros((8, 8), np.uint8))
        with pytest.raises(ValueError, match="background must be one of"):
            fill_segments(image, np.zeros((8, 8), np.uint8), background="white")


class TestSmoothing:
    @pytest.mark.parametrize("size", [3, 5])
    @pytest.mark.parametrize("levels", [4, 256])  # 4: windows full of ties
    def test_torch_median_equals_opencv(self, size, levels):
        image = RNG.integers(0, levels, (2, 23, 31, 3), dtype=np.uint8)
        got = _median_filter(torch.from_numpy(image), size).numpy()
        for i in range(2):
            np.testing.assert_array_equal(got[i], cv2.medianBlur(image[i], size))

    @pytest.mark.parametrize(
        "diameter, sigma_color, sigma_space", [(5, 30, 7.5), (20, 30, 30), (3, 12, 2)]
    )
    def test_torch_bilateral_matches_opencv(self, diameter, sigma_color, sigma_space):
        image = cv2.GaussianBlur(RNG.integers(0, 256, (24, 20, 3), dtype=np.uint8), (0, 0), 1)
        image = cv2.resize(image, (40, 48), interpolation=cv2.INTER_NEAREST)  # flats and edges
        expected = cv2.bilateralFilter(image, diameter, sigma_color, sigma_space)
        got = bilateral_filter(
            torch.from_numpy(image[None]),
            diameter=diameter,
            sigma_color=sigma_color,
            sigma_space=sigma_space,
            passes=1,
        )[0].numpy()
        diff = np.abs(got.astype(int) - expected)
        # Same window, weight tables and rounding: only float summation order may differ.
        assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3

    def test_grid_route_is_the_bilateral_of_the_subsampled_median(self):
        image = RNG.integers(0, 256, (70, 45, 3), dtype=np.uint8)
        smoothing = Smoothing(passes=3, factor=4)
        grid = cv2.medianBlur(image, 3)[2::4, 2::4].copy()
        for _ in range(3):
            grid = cv2.bilateralFilter(grid, 5, 30, 7.5)
        got = smooth(image, smoothing=smoothing)
        rows = np.minimum(np.arange(70) // 4, grid.shape[0] - 1)
        cols = np.minimum(np.arange(45) // 4, grid.shape[1] - 1)
        np.testing.assert_array_equal(got, grid[rows][:, cols])

    def test_factor_one_is_scfegans_schedule(self):
        image = RNG.integers(0, 256, (40, 36, 3), dtype=np.uint8)
        expected = cv2.medianBlur(image, 3)
        for _ in range(2):
            expected = cv2.bilateralFilter(expected, 20, 30, 30)
        got = smooth(image, smoothing=Smoothing(passes=2, factor=1))
        np.testing.assert_array_equal(got, expected)

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"median_size": 4}, "median_size must be odd"),
            ({"factor": 0}, "passes must be >= 0, diameter and factor >= 1"),
            ({"sigma_color": 0}, "sigma_color and sigma_space must be > 0"),
        ],
    )
    def test_bad_options(self, kwargs, match):
        with pytest.raises(ConfigError, match=match):
            Smoothing(**kwargs)

    def test_bad_image(self):
        with pytest.raises(ValueError, match=r"uint8 RGB image of shape \(H, W, 3\)"):
            smooth(np.zeros((8, 8), np.uint8))
        with pytest.raises(ValueError, match=r"\(B, H, W, 3\)"):
            smooth(torch.zeros(8, 8, 3, dtype=torch.uint8))


class TestColorMap:
    def test_segments_hold_the_medians_of_the_smoothed_image(self, faces):
        # Without the full-resolution crops for small segments (exact_below=0).
        image, labels = faces[0]
        plain = Smoothing(exact_below=0)
        for smoothing in (plain, Smoothing(passes=5, factor=2, median_size=5, exact_below=0)):
            got = color_map(image, labels, smoothing=smoothing)
            smoothed = smooth(image, smoothing=smoothing)
            for k, median in reference_medians(smoothed, labels).items():
                assert np.all(got[labels == k] == median), k

    def test_grid_fill_equals_filling_the_expanded_image(self, faces):
        # color_map takes the medians on the smoothing grid, weighted by block pixel counts;
        # sizes that are no multiple of the factor give wider last blocks.
        image, labels = faces[1]
        for shape, factor in (((512, 512), 4), ((301, 187), 4), ((90, 77), 3)):
            im, lab = image[: shape[0], : shape[1]], labels[: shape[0], : shape[1]]
            smoothing = Smoothing(factor=factor, passes=3, exact_below=0)
            for background in BACKGROUNDS:
                expanded = fill_segments(
                    smooth(im, smoothing=smoothing), lab, background=background
                )
                got = color_map(im, lab, smoothing=smoothing, background=background)
                np.testing.assert_array_equal(got, expanded)

    def test_small_segments_take_the_full_schedule(self, faces):
        # A margin as large as the image: the crop is the whole image, so small segments get
        # exactly the full-resolution schedule's medians, large ones the coarse grid's.
        image, labels = faces[0]
        smoothing = Smoothing(passes=3, exact_below=0.02, exact_margin=512)
        got = color_map(image, labels, smoothing=smoothing)
        coarse = reference_medians(smooth(image, smoothing=smoothing), labels)
        full = reference_medians(smooth(image, smoothing=replace(smoothing, factor=1)), labels)
        counts = np.bincount(labels.ravel())
        small = [k for k in np.unique(labels) if counts[k] < 0.02 * labels.size]
        assert small and len(small) < len(np.unique(labels))
        for k in np.unique(labels):
            expected = full[k] if k in small else coarse[k]
            assert np.all(got[labels == k] == expected), k

    def test_crops_grow_the_boxes_and_merge_overlaps(self):
        labels = np.zeros((100, 100), np.uint8)
        labels[10:20, 10:20], labels[25:30, 12:18], labels[80:90, 80:90] = 1, 2, 3
        assert _crops(labels, np.array([1, 2, 3]), 5) == [
            ((5, 35, 5, 25), [1, 2]),
            ((75, 95, 75, 95), [3]),
        ]
        assert _crops(labels, np.array([3]), 15) == [((65, 100, 65, 100), [3])]

    def test_default_route_within_7_levels_on_a_real_photo(self, astronaut_case):
        # docs/color.md: the promise for segments of at least 0.5% of the image.
        image, labels = astronaut_case
        errors, areas = segment_errors(
            color_map(image, labels), color_map(image, labels, smoothing=SCFEGAN), labels
        )
        big = areas >= LARGE
        assert errors[big].max() <= 7
        # The grid alone errs more (up to 65 levels on other photos: docs/color.md).
        unrefined = color_map(image, labels, smoothing=Smoothing(exact_below=0))
        old, _ = segment_errors(unrefined, color_map(image, labels, smoothing=SCFEGAN), labels)
        assert errors[big].sum() < old[big].sum()

    def test_fast_route_within_reported_tolerance_of_naive(self, faces):
        diffs, areas = [], []
        for image, labels in faces[:2]:
            naive = color_map(image, labels, smoothing=SCFEGAN)
            fast = color_map(image, labels)
            for k in np.unique(labels):
                at = labels == k
                diffs.append(np.abs(naive[at][0].astype(int) - fast[at][0]).max())
                areas.append(at.sum())
        diffs, areas = np.array(diffs), np.array(areas)
        assert diffs[areas >= 0.005 * 512 * 512].max() <= LARGE_SEGMENT_TOLERANCE
        assert np.average(diffs, weights=areas) <= PIXEL_WEIGHTED_TOLERANCE

    def test_torch_route_equals_opencv_route(self, faces):
        images = np.stack(
            [cv2.resize(im, (256, 256), interpolation=cv2.INTER_AREA) for im, _ in faces]
        )
        labels = np.stack([resize_labels(lab, 256) for _, lab in faces])
        got = color_map(torch.from_numpy(images), torch.from_numpy(labels))
        assert got.dtype == torch.uint8 and got.shape == images.shape
        for i in range(len(faces)):
            expected = color_map(images[i], labels[i])
            assert np.abs(got[i].numpy().astype(int) - expected).max() <= 1


class TestBuild:
    def run_build(self, demo_tree, out, *extra):
        args = [
            "build",
            "--src",
            "celebamask-hq",
            "--root",
            str(demo_tree),
            "--out",
            str(out),
            "--maps",
            "color,hog,parsing",
            "--size",
            "128",
            "--limit",
            "4",
            "--no-progress",
        ]
        result = CliRunner().invoke(app, args + list(extra))
        assert result.exit_code == 0, result.output
        return {s["__key__"]: s for s in iter_samples(out)}

    def test_color_and_hog_round_trip(self, demo_tree, tmp_path):
        samples = self.run_build(demo_tree, tmp_path / "numpy", "--hog-cell", "16")
        manifest = load_manifest(tmp_path / "numpy")
        assert {"color.png", "hog.npy", "hog.png"} <= set(manifest["fields"])
        assert manifest["stages"]["hog"]["cell"] == 16
        assert len(samples) == 4
        for sample in samples.values():
            colours, labels = sample["color.png"], sample["parsing.png"]
            assert colours.shape == (128, 128, 3) and colours.dtype == np.uint8
            for k in np.unique(labels):  # one colour per parsing label
                assert len(np.unique(colours[labels == k], axis=0)) == 1
            assert sample["hog.npy"].shape == (8, 8, 9) and sample["hog.npy"].dtype == np.float16
            assert sample["hog.png"].shape == (128, 128) and sample["hog.png"].max() == 255
            # The histograms are those of the image in [0, 1] (up to JPEG and float16).
            decoded = cell_histograms(sample["jpg"], pixels_per_cell=(16, 16), channel_axis=-1)
            np.testing.assert_allclose(sample["hog.npy"], decoded / 255, atol=0.02)
            assert sample["json"]["maps"]["color"] == "fast-x4"

        torch_samples = self.run_build(
            demo_tree,
            tmp_path / "torch",
            "--hog-cell",
            "16",
            "--color-route",
            "torch",
            "--hog-route",
            "torch",
            "--device",
            "cpu",
        )
        for key, sample in torch_samples.items():
            ref = samples[key]
            assert np.abs(sample["color.png"].astype(int) - ref["color.png"]).max() <= 1
            np.testing.assert_allclose(sample["hog.npy"], ref["hog.npy"], rtol=1e-3)
            np.testing.assert_array_equal(sample["hog.png"], ref["hog.png"])
            assert sample["json"]["maps"]["color"] == "torch-x4"

    def test_bad_route_is_a_clear_cli_error(self, demo_tree, tmp_path):
        args = [
            "build",
            "--src",
            "celebamask-hq",
            "--root",
            str(demo_tree),
            "--out",
            str(tmp_path),
            "--maps",
            "color",
            "--color-route",
            "slow",
        ]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert "--color-route must be one of auto, fast, naive, torch" in result.output

    def test_naive_route_is_recorded_with_its_full_resolution_schedule(self):
        assert ColorConfig(route="naive", smoothing=Smoothing(factor=4)).smoothing == SCFEGAN
        assert ColorConfig(route="fast").smoothing.factor == 4

    def test_configs_reject_unknown_values(self):
        with pytest.raises(ConfigError, match="--color-background must be one of"):
            ColorConfig(background="white")
        with pytest.raises(ConfigError, match="--hog-channels must be one of"):
            HogConfig(channels="lab")
        with pytest.raises(ConfigError, match="--hog-cell >= 2"):
            HogConfig(cell=1)
