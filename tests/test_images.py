"""Decoding untrusted images: conversions that are well defined, refusals that are not."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facedata.errors import BadImageError
from facedata.io.images import decode_image, read_image


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


def exif_jpeg(path, pixels, orientation):
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = orientation
    img.save(path, quality=95, exif=exif)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pillow_applies_it(tmp_path, orientation):
    from PIL import ImageOps

    stored = np.random.default_rng(orientation).integers(0, 255, (48, 32, 3), np.uint8)
    exif_jpeg(tmp_path / "a.jpg", stored, orientation)
    decoded = decode_image(tmp_path / "a.jpg")
    with Image.open(tmp_path / "a.jpg") as img:
        expected = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    np.testing.assert_array_equal(decoded.rgb, expected)
    assert decoded.orientation == orientation
    assert decoded.size == ((48, 32) if orientation >= 5 else (32, 48))


def test_exif_orientation_at_reduced_scale_keeps_the_full_size(tmp_path):
    exif_jpeg(tmp_path / "a.jpg", np.zeros((256, 128, 3), np.uint8), 6)
    decoded = decode_image(tmp_path / "a.jpg", reduce_to=64)
    assert decoded.rgb.shape == (64, 128, 3) and decoded.size == (256, 128)  # 1/2 scale


def damaged(tmp_path):
    """A JPEG with 64 random bytes in the middle of its entropy-coded data."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:256, :256]
    smooth = np.stack([xx, yy, (xx + yy) // 2], -1).astype(np.uint8)
    Image.fromarray(smooth).save(tmp_path / "a.jpg", quality=90)
    data = bytearray((tmp_path / "a.jpg").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = rng.integers(0, 256, 64, np.uint8).tobytes()
    (tmp_path / "d.jpg").write_bytes(bytes(data))
    return tmp_path / "d.jpg"


def test_damaged_jpeg_is_refused_unless_accepted(tmp_path):
    path = damaged(tmp_path)
    # Pillow decodes it without a word: the damage is only visible as wrong pixels.
    with Image.open(path) as img:
        assert img.convert("RGB").size == (256, 256)
    with pytest.raises(BadImageError, match="cannot be decoded cleanly: Corrupt JPEG data"):
        decode_image(path)
    assert decode_image(path, strict=False).rgb.shape == (256, 256, 3)


@pytest.mark.parametrize("reduce_to", [None, 256, 100, 40, 16])
def test_jpeg_decoding_equals_pillows(tmp_path, reduce_to):
    rng = np.random.default_rng(1)
    for name, pixels in {
        "rgb.jpg": rng.integers(0, 255, (300, 200, 3), np.uint8),
        "gray.jpg": rng.integers(0, 255, (300, 200), np.uint8),
    }.items():
        Image.fromarray(pixels).save(tmp_path / name, quality=90)
        with Image.open(tmp_path / name) as img:
            if reduce_to is not None:
                img.draft(img.mode, (reduce_to, reduce_to))
            expected = np.asarray(img.convert("RGB"))
        np.testing.assert_array_equal(
            decode_image(tmp_path / name, reduce_to=reduce_to).rgb, expected
        )


def test_cmyk_jpeg_is_converted_as_pillow_converts_it(tmp_path):
    cmyk = np.random.default_rng(2).integers(0, 255, (40, 30, 4), np.uint8)
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "c.jpg")
    decoded = decode_image(tmp_path / "c.jpg")
    with Image.open(tmp_path / "c.jpg") as img:
        np.testing.assert_array_equal(decoded.rgb, np.asarray(img.convert("RGB")))
    assert decoded.conversion == "CMYK converted to RGB"
