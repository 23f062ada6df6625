"""facedata.io.png: plain PNGs decode to exactly what OpenCV and libspng give, others to None.

The files are assembled here from their definition (rows filtered one at a time, as the PNG
specification writes the filters, then zlib and CRC'd chunks), so every filter sequence can
be tried; files from OpenCV and Pillow check that real writers' output takes the same route.
"""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from facedata.io import png
from facedata.io.images import _spng_blue, read_part_mask


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_rows(pixels: np.ndarray, kinds: list[int]) -> bytes:
    """PNG's filtered scanlines of ``pixels`` (H, W, C), row ``y`` with filter ``kinds[y]``,
    byte by byte as the specification defines them."""
    h, w, c = pixels.shape
    rows = pixels.reshape(h, w * c).astype(int).tolist()
    out = bytearray()
    for y, kind in enumerate(kinds):
        row, above = rows[y], rows[y - 1] if y else [0] * (w * c)
        out.append(kind)
        for x, value in enumerate(row):
            a = row[x - c] if x >= c else 0
            b, corner = above[x], above[x - c] if x >= c else 0
            # type 0 adds nothing; so do the unknown types, which decoders must refuse
            guess = {1: a, 2: b, 3: (a + b) // 2, 4: _paeth(a, b, corner)}.get(kind, 0)
            out.append((value - guess) % 256)
    return bytes(out)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def assemble(header: bytes, *chunks: bytes) -> bytes:
    return b"".join([png.SIGNATURE, chunk(b"IHDR", header), *chunks, chunk(b"IEND", b"")])


def header(w, h, *, depth=8, colour=2, interlace=0) -> bytes:
    return struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace)


def make_png(pixels, kinds, *, extra=(), split=1, **fields) -> bytes:
    """A PNG of ``pixels`` ((H, W) grey or (H, W, 3|4) RGB/RGBA) with the given row filters;
    ``extra`` chunks go before the image data, which is cut into ``split`` IDAT chunks;
    ``fields`` change the header."""
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels
    h, w, c = pixels.shape
    fields.setdefault("colour", {1: 0, 3: 2, 4: 6}[c])
    stream = zlib.compress(filter_rows(pixels, kinds), 6)
    cuts = np.linspace(0, len(stream), split + 1).astype(int)
    idats = [chunk(b"IDAT", stream[i:j]) for i, j in zip(cuts[:-1], cuts[1:])]
    return assemble(header(w, h, **fields), *extra, *idats)


def opencv_blue(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., 0]


def _image(shape, seed, *, mask=False):
    rng = np.random.default_rng(seed)
    if mask:  # blobs of 0/255 like a part mask
        return (
            np.where(rng.random(shape[:2]) < 0.3, 255, 0)
            .astype(np.uint8)
            .repeat(shape[2] if len(shape) == 3 else 1, -1)
            .reshape(shape)
        )
    return rng.integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("shape", [(9, 7), (9, 7, 3), (9, 7, 4), (1, 1, 3), (6, 1)])
@pytest.mark.parametrize(
    "kinds",
    [
        "000000000", "111111111", "222222222", "120120120", "012211200", "221100112",
        "210000222",
    ],
)  # fmt: skip
def test_none_sub_and_up_rows_decode_as_opencv_and_libspng_do(shape, kinds):
    kinds = [int(k) for k in kinds[: shape[0]]]
    for seed, mask in ((0, False), (1, True)):
        data = make_png(_image(shape, seed, mask=mask), kinds)
        got = png.blue(data)
        assert got is not None and got.dtype == np.uint8 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, opencv_blue(data))
        np.testing.assert_array_equal(got, _spng_blue(data))


@pytest.mark.parametrize("kind", [3, 4])
def test_average_and_paeth_rows_go_to_a_complete_decoder(tmp_path, kind):
    pixels = _image((8, 6, 3), 2)
    data = make_png(pixels, [1, 2, kind, 0, 1, 1, 2, 2])
    assert png.blue(data) is None
    path = tmp_path / "part.png"
    path.write_bytes(data)
    np.testing.assert_array_equal(read_part_mask(path), pixels[..., 2])


def test_several_idat_chunks_and_inert_chunks_are_read():
    pixels = _image((12, 10, 3), 3)
    text = chunk(b"tEXt", b"Software\x00test")
    data = make_png(pixels, [1] * 12, extra=[text, chunk(b"pHYs", bytes(9))], split=4)
    np.testing.assert_array_equal(png.blue(data), pixels[..., 2])


def _corrupt(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :]


def test_damaged_or_unusual_files_go_to_a_complete_decoder():
    pixels = _image((8, 8, 3), 4)
    good = make_png(pixels, [1] * 8)
    scanlines = filter_rows(pixels, [1] * 8)
    stream = zlib.compress(scanlines)
    idat = lambda body: chunk(b"IDAT", body)  # noqa: E731
    refused = {
        "not a PNG": good[1:],
        "truncated": good[:-20],
        "bytes after IEND": good + b"\0",
        "no IEND": good[:-12],
        "CRC of a chunk": _corrupt(good, len(good) - 14),
        "zlib checksum": assemble(header(8, 8), idat(stream[:-1] + bytes([stream[-1] ^ 1]))),
        "zlib stream cut short": assemble(header(8, 8), idat(stream[:-6])),
        "one row missing": assemble(header(8, 8), idat(zlib.compress(scanlines[:-25]))),
        "one byte too many": assemble(header(8, 8), idat(zlib.compress(scanlines + b"\0"))),
        "data after the stream": assemble(header(8, 8), idat(stream + b"\0")),
        "IDAT run broken by a text chunk": assemble(
            header(8, 8), idat(stream[:10]), chunk(b"tEXt", b"a\x00b"), idat(stream[10:])
        ),
        "transparency": make_png(pixels, [1] * 8, extra=[chunk(b"tRNS", bytes(6))]),
        "gamma": make_png(pixels, [1] * 8, extra=[chunk(b"gAMA", struct.pack(">I", 45455))]),
        "interlaced": make_png(pixels, [1] * 8, interlace=1),
        "16 bits": assemble(header(8, 8, depth=16), idat(stream)),
        "palette": make_png(pixels[..., 0], [1] * 8, colour=3),
        "unknown filter": make_png(pixels, [1] * 7 + [5]),
    }
    assert png.blue(good) is not None
    for what, data in refused.items():
        assert png.blue(data) is None, what


def test_files_from_real_writers(tmp_path, photo):
    """OpenCV's part-mask-like files take this route; every file decodes as OpenCV says."""
    mask = np.where(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY) > 120, 255, 0).astype(np.uint8)
    files = {
        "opencv mask rgb": cv2.imencode(".png", cv2.merge([mask] * 3))[1].tobytes(),
        "opencv mask grey": cv2.imencode(".png", mask)[1].tobytes(),
        "opencv photo": cv2.imencode(".png", photo)[1].tobytes(),
        "opencv rgba": cv2.imencode(".png", cv2.cvtColor(photo, cv2.COLOR_RGB2BGRA))[1].tobytes(),
    }
    for mode in ("RGB", "L"):
        buffer = io.BytesIO()
        Image.fromarray(photo).convert(mode).save(buffer, format="PNG")
        files[f"pillow {mode}"] = buffer.getvalue()
    for what, data in files.items():
        path = tmp_path / "part.png"
        path.write_bytes(data)
        np.testing.assert_array_equal(read_part_mask(path), opencv_blue(data), err_msg=what)
        got = png.blue(data)
        if got is not None:
            np.testing.assert_array_equal(got, opencv_blue(data), err_msg=what)
    assert png.blue(files["opencv mask rgb"]) is not None
    assert png.blue(files["opencv mask grey"]) is not None


def test_grey_reads_grey_files_only():
    labels = np.random.default_rng(5).integers(0, 19, (40, 30), dtype=np.uint8)
    data = cv2.imencode(".png", labels)[1].tobytes()  # as the label cache writes them
    np.testing.assert_array_equal(png.grey(data), labels)
    rgb = make_png(_image((6, 5, 3), 6), [1] * 6)
    assert png.blue(rgb) is not None and png.grey(rgb) is None
