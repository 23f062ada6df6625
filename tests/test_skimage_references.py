"""Functions of facedata that scikit-image also implements, checked against scikit-image on
real images (HOG, thinning and SSIM have theirs in test_hog, test_sketch and test_train)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data
from skimage.metrics import peak_signal_noise_ratio
from skimage.morphology import remove_small_objects

from facedata.features import sketch
from facedata.train import metrics


@pytest.mark.parametrize("min_pixels", [2, 10, 40])
def test_remove_specks_equals_remove_small_objects(min_pixels):
    gray = data.astronaut().mean(axis=2).astype(np.float32) / 255
    lines = sketch.thin(sketch.nms(np.abs(np.gradient(gray)[0]) * 8) >= 0.1)
    assert 100 < lines.sum() < lines.size // 4  # many components of many sizes
    # 8-connected components of fewer than min_pixels pixels (skimage: at most max_size).
    expected = remove_small_objects(lines, max_size=min_pixels - 1, connectivity=2)
    assert 0 < expected.sum() < lines.sum()  # some components go, some stay
    np.testing.assert_array_equal(sketch.remove_specks(lines, min_pixels=min_pixels), expected)


@pytest.mark.parametrize("sigma", [0.01, 0.1, 0.4])
def test_psnr_equals_skimage(sigma):
    rng = np.random.default_rng(0)
    truth = data.astronaut().astype(np.float64) / 255
    noisy = np.clip(truth + rng.normal(0, sigma, truth.shape), 0, 1)
    as_batch = [torch.from_numpy(a).permute(2, 0, 1)[None] for a in (truth, noisy)]
    ours = float(metrics.psnr(*as_batch, data_range=1.0)[0])
    assert ours == pytest.approx(peak_signal_noise_ratio(truth, noisy, data_range=1.0), abs=1e-9)
