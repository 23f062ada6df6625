"""Part PNGs decode to exactly what ``g_mask.py``'s ``cv2.imread(file)[..., 0]`` gives."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from facedata.errors import BadImageError
from facedata.io.images import SPNG_FORMATS, read_part_mask


def _values(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    top = 2 if dtype is bool else np.iinfo(dtype).max + 1
    return rng.integers(0, top, shape).astype(dtype)


def write_formats(folder) -> dict[str, str]:
    """One PNG per colour type and bit depth the writers can make, with varied values."""
    h, w = 24, 40
    files = {}

    def put(name, write):
        files[name] = str(folder / f"{name}.png")
        write(files[name])

    grey8 = _values((h, w), np.uint8, 0)
    put("grey1", lambda p: Image.fromarray(grey8 > 127).save(p))
    put("grey8", lambda p: cv2.imwrite(p, grey8))
    put("grey16", lambda p: cv2.imwrite(p, _values((h, w), np.uint16, 1)))
    put("grey-alpha8", lambda p: Image.fromarray(grey8).convert("LA").save(p))
    put("rgb8", lambda p: cv2.imwrite(p, _values((h, w, 3), np.uint8, 2)))
    put("rgb16", lambda p: cv2.imwrite(p, _values((h, w, 3), np.uint16, 3)))
    put("rgba8", lambda p: cv2.imwrite(p, _values((h, w, 4), np.uint8, 4)))
    put("rgba16", lambda p: cv2.imwrite(p, _values((h, w, 4), np.uint16, 5)))
    rgb = Image.fromarray(_values((h, w, 3), np.uint8, 6))
    put("palette8", lambda p: rgb.quantize(200).save(p))
    put("palette4", lambda p: rgb.quantize(16).save(p, bits=4))
    white = np.where(grey8[..., None] > 100, 255, 0).astype(np.uint8).repeat(3, 2)
    put("release-part", lambda p: cv2.imwrite(p, white))  # CelebAMask-HQ's white masks
    return files


def png_format(path) -> tuple[int, int]:
    data = open(path, "rb").read(29)
    return data[25], data[24]


def test_every_png_format_reads_as_g_mask_reads_it(tmp_path):
    files = write_formats(tmp_path)
    formats = {name: png_format(p) for name, p in files.items()}
    # the fast decoder and the fallback are both exercised
    assert SPNG_FORMATS & set(formats.values()) and set(formats.values()) - SPNG_FORMATS
    for name, path in files.items():
        expected = cv2.imread(path)[..., 0]
        got = read_part_mask(path)
        assert got.dtype == np.uint8 and got.flags.c_contiguous, name
        np.testing.assert_array_equal(got, expected, err_msg=name)


@pytest.mark.parametrize("cut", [40, 200])
def test_a_truncated_png_fails_as_opencv_says(tmp_path, cut):
    path = tmp_path / "part.png"
    cv2.imwrite(str(path), _values((64, 64, 3), np.uint8, 7))
    path.write_bytes(path.read_bytes()[:cut])
    expected = cv2.imread(str(path))
    if expected is None:
        with pytest.raises(BadImageError, match="cannot be decoded"):
            read_part_mask(path)
    else:  # OpenCV decodes what it can; the part is read the same way
        np.testing.assert_array_equal(read_part_mask(path), expected[..., 0])
