"""HOG: equal to scikit-image's numbers and glyphs, on numpy and batched torch alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data
from skimage.feature import hog as skimage_hog

from facedata.features.hog import (
    cell_histograms,
    float_type,
    glyph_image,
    hog,
    normalize_blocks,
    render_glyphs,
)
from tests.make_hog_golden import CELLS, OUT, sampled_orientations

RNG = np.random.default_rng(6)

# (image, options): real and random images, sizes that are not multiples of the cell.
CASES = {
    "astronaut-rgb-default": (data.astronaut(), {"channel_axis": -1}),
    "camera-gray-default": (data.camera(), {}),
    "astronaut-crop-7bins-7x9-L1": (
        data.astronaut()[:301, :257],
        {
            "channel_axis": -1,
            "orientations": 7,
            "pixels_per_cell": (7, 9),
            "cells_per_block": (2, 3),
            "block_norm": "L1",
        },
    ),
    "coffee-12bins-16px-sqrt": (
        data.coffee()[:203, :333],
        {
            "channel_axis": -1,
            "orientations": 12,
            "pixels_per_cell": (16, 16),
            "transform_sqrt": True,
        },
    ),
    "camera-6bins-L1-sqrt-channels-first": (
        np.stack([data.camera()[:150, :170], data.camera()[50:200, 30:200]]),
        {"channel_axis": 0, "orientations": 6, "block_norm": "L1-sqrt"},
    ),
    "random-float64-rgb-L2": (RNG.random((77, 93, 3)), {"channel_axis": -1, "block_norm": "L2"}),
    "random-float32-gray-sqrt": (
        RNG.random((61, 70)).astype(np.float32),
        {"transform_sqrt": True, "pixels_per_cell": (5, 6), "cells_per_block": (2, 2)},
    ),
    "random-uint8-rgb": (RNG.integers(0, 256, (83, 99, 3), dtype=np.uint8), {"channel_axis": -1}),
}

CELL_OPTIONS = ("orientations", "pixels_per_cell", "transform_sqrt", "channel_axis")


def cell_options(options: dict) -> dict:
    return {k: v for k, v in options.items() if k in CELL_OPTIONS}


class TestHog:
    @pytest.mark.parametrize("name", sorted(CASES))
    def test_equals_skimage(self, name):
        image, options = CASES[name]
        expected = skimage_hog(image, **options)
        got = hog(image, **options)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
        assert np.abs(got - expected).max() < 1e-6  # far inside the promise: same binning

    def test_block_layout_without_feature_vector(self):
        image = data.camera()[:100, :90]
        expected = skimage_hog(image, cells_per_block=(2, 3), feature_vector=False)
        got = hog(image, cells_per_block=(2, 3), feature_vector=False)
        assert got.shape == expected.shape == (11, 9, 2, 3, 9)
        np.testing.assert_allclose(got, expected, atol=1e-6)

    def test_channel_ties_pick_the_first_channel_like_skimage(self):
        # Channel 0 has gradient (row, col) = (0, 10) -> 0 deg; channel 1 has (6, 8) -> 37 deg:
        # the same magnitude 10 everywhere inside, so only the tie rule decides the bin.
        rows, cols = np.mgrid[0:40, 0:40]
        image = np.stack([5 * cols, 3 * rows + 4 * cols, np.zeros_like(rows)], -1).astype(np.uint8)
        options = {"channel_axis": -1, "pixels_per_cell": (4, 4), "cells_per_block": (2, 2)}
        np.testing.assert_allclose(hog(image, **options), skimage_hog(image, **options), atol=1e-6)
        hist = cell_histograms(image, pixels_per_cell=(4, 4), channel_axis=-1)
        assert hist[2, 2, 0] == pytest.approx(10.0) and hist[2, 2, 1:].sum() == 0

    @pytest.mark.parametrize("channels", [None, 3])
    def test_8bit_tables_equal_the_float_computation(self, channels):
        # The bin and magnitude tables of 8-bit gradients against arctan2 and sqrt on the
        # same image as float64: exactly equal, extreme gradients (0 against 255) included.
        shape = (64, 72) + ((channels,) if channels else ())
        image = RNG.integers(0, 256, shape, dtype=np.uint8)
        image[::5] = 255
        image[::7] = 0
        axis = -1 if channels else None
        np.testing.assert_array_equal(
            cell_histograms(image, channel_axis=axis),
            cell_histograms(image.astype(np.float64), channel_axis=axis),
        )

    def test_known_answer_horizontal_ramp(self):
        # Brightness rises 3 per column: gradient (0, 6) inside, orientation 0 -> bin 0.
        image = np.tile(np.arange(48, dtype=np.uint8) * 3, (40, 1))
        hist = cell_histograms(image)
        assert hist.shape == (5, 6, 9)
        assert np.all(hist[1:-1, 1:-1, 0] == 6.0)
        assert np.all(hist[..., 1:] == 0)
        # The image's first and last columns have no column gradient: 7 of 8 pixel columns
        # vote in the edge cells. (Rows do not matter: the row gradient is 0 everywhere.)
        assert hist[0, 0, 0] == hist[4, 5, 0] == 6.0 * 7 / 8
        assert np.all(hist[:, 0, 0] == 6.0 * 7 / 8)

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"block_norm": "L3"}, "block_norm must be one of"),
            ({"pixels_per_cell": (0, 8)}, "pixels_per_cell must be two positive integers"),
            ({"orientations": 0}, "orientations must be a positive integer"),
            ({"cells_per_block": (9, 9)}, "fewer than one block"),
        ],
    )
    def test_bad_options(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            hog(data.camera()[:64, :64], **kwargs)

    def test_bad_shapes(self):
        with pytest.raises(ValueError, match="smaller than one cell"):
            hog(np.zeros((5, 40)))
        with pytest.raises(ValueError, match=r"expected an image of shape \(M, N\[, C\]\)"):
            hog(np.zeros((40, 40, 3)))  # colour image without channel_axis
        with pytest.raises(ValueError, match=r"\(B, M, N\[, C\]\)"):
            hog(torch.zeros(40, 40))  # a tensor is a batch
        with pytest.raises(TypeError, match="numpy array or a torch tensor"):
            hog([[0.0] * 40] * 40)


class TestGlyphs:
    @pytest.mark.parametrize(
        "image, options",
        [
            (data.astronaut()[100:237, 180:301], {"channel_axis": -1}),
            (data.camera()[:130, :100], {"orientations": 7, "pixels_per_cell": (10, 12)}),
            (data.camera()[200:290, 200:296], {"orientations": 4, "pixels_per_cell": (5, 5)}),
            (
                data.coffee()[:96, :100],
                {"channel_axis": -1, "orientations": 12, "pixels_per_cell": (16, 16)},
            ),
        ],
    )
    def test_equals_skimage_visualize(self, image, options):
        _, expected = skimage_hog(image, visualize=True, **options)
        hist = cell_histograms(image, **options)
        cell = options.get("pixels_per_cell", (8, 8))
        got = render_glyphs(hist, pixels_per_cell=cell, shape=image.shape[:2])
        assert got.shape == expected.shape
        # skimage sums the histogram in float32, hence the relative tolerance.
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)

    def test_glyph_image_scales_each_image_to_255(self):
        glyphs = np.array([[0.0, 2.0], [1.0, 4.0]])
        assert glyph_image(glyphs).tolist() == [[0, 128], [64, 255]]
        assert glyph_image(np.zeros((3, 3))).max() == 0
        batch = torch.tensor([[[0.0, 1.0]], [[3.0, 6.0]]])
        assert glyph_image(batch).tolist() == [[[0, 255]], [[128, 255]]]

    def test_shape_and_cell_checks(self):
        hist = np.ones((4, 5, 9))
        assert render_glyphs(hist).shape == (32, 40)
        out = render_glyphs(hist, shape=(35, 41))
        assert out.shape == (35, 41) and out[32:].max() == 0 and out[:, 40:].max() == 0
        with pytest.raises(ValueError, match="smaller than the 32x40 pixels"):
            render_glyphs(hist, shape=(31, 40))
        with pytest.raises(ValueError, match="at least 2x2"):
            render_glyphs(hist, pixels_per_cell=(1, 8))


@pytest.fixture(scope="module")
def golden():
    with np.load(OUT) as stored:
        return {key: stored[key] for key in stored.files}


class TestGlyphFidelity:
    """Glyph geometry against scikit-image's own drawing, stored in tests/data/hog_glyphs.npz."""

    @pytest.mark.parametrize("cell", list(CELLS))
    def test_every_segment_of_a_512_image_equals_skimage(self, golden, cell):
        # Bin o of every cell holds 2**o, so each pixel lists the bins drawn through it.
        for k, orientations in enumerate(sampled_orientations(cell)):
            for strip in ("tall", "wide"):
                expected = golden[f"{strip}-{cell}"][k]
                n_rows, n_cols = expected.shape[0] // cell, expected.shape[1] // cell
                bits = 2.0 ** np.arange(orientations)
                hist = np.broadcast_to(bits, (n_rows, n_cols, orientations))
                got = render_glyphs(hist, pixels_per_cell=(cell, cell), shape=expected.shape)
                assert np.array_equal(got, expected), (strip, cell, orientations)

    @pytest.mark.parametrize("cell, orientations", [(10, 9), (8, 11), (6, 9), (13, 17)])
    def test_full_image_equals_skimage_where_shifted_stencils_failed(self, cell, orientations):
        image = data.astronaut()[:512, :512]
        options = {"orientations": orientations, "pixels_per_cell": (cell, cell)}
        _, expected = skimage_hog(image, channel_axis=-1, visualize=True, **options)
        hist = cell_histograms(image, channel_axis=-1, **options)
        got = render_glyphs(hist, pixels_per_cell=(cell, cell), shape=image.shape[:2])
        # skimage sums its histograms in a different order: rounding-level differences only.
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)

    def test_dtype_policy_is_skimages(self):
        image = data.camera()[:120, :136]
        floats = data.camera()[:120, :136] / 255
        cases = ((floats, np.float16, np.float32), (floats, np.float32, np.float32))
        for source, dtype, out in (*cases, (image, np.uint8, np.float64)):
            x = source.astype(dtype)
            blocks, expected = skimage_hog(x, pixels_per_cell=(8, 8), visualize=True)
            hist = cell_histograms(x)
            assert hist.dtype == np.float64
            assert hog(x).dtype == blocks.dtype == out
            glyphs = render_glyphs(hist, shape=x.shape, dtype=float_type(x.dtype))
            assert glyphs.dtype == expected.dtype == out
            np.testing.assert_allclose(glyphs, expected, rtol=1e-5, atol=1e-6)
        batch = torch.from_numpy(image[None].astype(np.float32))
        assert hog(batch).dtype == torch.float32
        glyphs = render_glyphs(cell_histograms(batch), dtype=float_type(batch.dtype))
        assert glyphs.dtype == torch.float32


class TestTorchRoute:
    def test_batch_equals_numpy_per_image(self):
        images = [data.astronaut()[:203, :190], data.astronaut()[150:353, 200:390]]
        batch = torch.from_numpy(np.stack(images))
        options = {"orientations": 8, "pixels_per_cell": (6, 7), "channel_axis": -1}
        hist = cell_histograms(batch, **options)
        descriptors = hog(batch, cells_per_block=(2, 2), **options)
        glyphs = render_glyphs(hist, pixels_per_cell=(6, 7), shape=(203, 190))
        assert isinstance(hist, torch.Tensor) and hist.dtype == torch.float64
        for i, image in enumerate(images):
            ref_hist = cell_histograms(image, **options)
            np.testing.assert_allclose(hist[i].numpy(), ref_hist, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(
                descriptors[i].numpy(), hog(image, cells_per_block=(2, 2), **options), atol=1e-12
            )
            np.testing.assert_allclose(
                glyphs[i].numpy(),
                render_glyphs(ref_hist, pixels_per_cell=(6, 7), shape=(203, 190)),
                atol=1e-9,
            )

    def test_float_gray_batch_equals_skimage(self):
        images = RNG.random((3, 50, 60))
        got = hog(torch.from_numpy(images), block_norm="L1", pixels_per_cell=(5, 5))
        for i in range(3):
            expected = skimage_hog(images[i], block_norm="L1", pixels_per_cell=(5, 5))
            np.testing.assert_allclose(got[i].numpy(), expected, atol=1e-6)

    def test_normalize_blocks_on_both(self):
        hist = RNG.random((2, 6, 7, 5))
        for norm in ("L1", "L1-sqrt", "L2", "L2-Hys"):
            out = normalize_blocks(torch.from_numpy(hist), cells_per_block=(2, 3), block_norm=norm)
            np.testing.assert_allclose(
                out.numpy()[1], normalize_blocks(hist[1], cells_per_block=(2, 3), block_norm=norm)
            )
