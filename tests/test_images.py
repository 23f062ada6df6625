"""Decoding untrusted images: conversions that are well defined, refusals that are not."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facedata.errors import BadImageError
from facedata.io.images import read_image


def test_rgb_jpeg_roundtrip(tmp_path):
    Image.fromarray(np.full((10, 12, 3), 200, np.uint8)).save(tmp_path / "a.jpg")
    rgb, conversion = read_image(tmp_path / "a.jpg")
    assert rgb.shape == (10, 12, 3) and rgb.dtype == np.uint8 and conversion is None


def test_gray_16bit_is_scaled_not_clipped(tmp_path):
    gray = np.array([[0, 256, 65535]], np.uint16)
    Image.fromarray(gray).save(tmp_path / "g16.png")
    rgb, conversion = read_image(tmp_path / "g16.png")
    np.testing.assert_array_equal(rgb[0, :, 0], [0, 1, 255])
    assert np.all(rgb[..., 0] == rgb[..., 2])
    assert "8 bit" in conversion


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((1, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red
    rgba[0, 1] = (0, 0, 0, 0)  # fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb, conversion = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(rgb[0], [[255, 0, 0], [255, 255, 255]])
    assert "white" in conversion


def test_truncated_jpeg_is_refused(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        tmp_path / "a.jpg"
    )
    data = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImageError, match="cannot be decoded"):
        read_image(tmp_path / "t.jpg")


def test_empty_and_garbage_files(tmp_path):
    (tmp_path / "e.jpg").write_bytes(b"")
    (tmp_path / "g.png").write_bytes(b"not an image at all")
    with pytest.raises(BadImageError, match="empty file"):
        read_image(tmp_path / "e.jpg")
    with pytest.raises(BadImageError, match="cannot be decoded"):
        read_image(tmp_path / "g.png")


def test_huge_header_is_refused_before_decoding(tmp_path):
    Image.new("L", (5000, 5000)).save(tmp_path / "big.png")
    with pytest.raises(BadImageError, match="more than the limit"):
        read_image(tmp_path / "big.png", max_pixels=1_000_000)


def test_jpeg_decoded_at_reduced_scale_matches_area_resize(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    smooth = cv2.GaussianBlur(rng.integers(0, 255, (256, 256, 3), np.uint8), (0, 0), 4)
    Image.fromarray(smooth).save(tmp_path / "a.jpg", quality=95)
    Image.fromarray(smooth).save(tmp_path / "a.png")
    full, _ = read_image(tmp_path / "a.jpg")
    half, _ = read_image(tmp_path / "a.jpg", reduce_to=128)
    quarter, _ = read_image(tmp_path / "a.jpg", reduce_to=100)  # 1/2 is the last scale >= 100
    assert half.shape == (128, 128, 3) and quarter.shape == (128, 128, 3)
    area = cv2.resize(full, (128, 128), interpolation=cv2.INTER_AREA)
    assert np.abs(half.astype(int) - area).mean() < 1.5
    assert read_image(tmp_path / "a.png", reduce_to=64)[0].shape == (256, 256, 3)
