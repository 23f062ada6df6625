"""The blue channel of a plain 8-bit PNG, decoded with zlib-ng and NumPy.

CelebAMask-HQ's part masks are 512² PNGs of a few kilobytes that inflate to 0.8 MB each;
zlib inflates such long runs at about 0.5 GB/s, which made their decoding most of a first
build's loading time (libspng and libpng both use it). zlib-ng inflates the same stream
about thirty times faster, and PNG's row filters act on each byte of a pixel separately, so
the one channel a part mask needs is unfiltered alone, a third of the work for an RGB file.

Only the plainest files take this route: 8-bit grey, RGB or RGBA, not interlaced, every chunk
intact (CRCs, a complete zlib stream with its checksum, exactly the announced size, nothing
after ``IEND``), no chunk that could change a decoder's output, and no row filtered with
"average" or "Paeth" (each byte of those depends on the one before it in the row, which
NumPy cannot vectorise). For anything else :func:`blue` returns None and the caller uses
a complete decoder.

References
----------
W3C, "Portable Network Graphics (PNG) Specification (Third Edition)", 2025: chunk layout
(5.3), filter types (9.2).
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import zlib_ng.zlib_ng as zlib_ng

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Bytes per pixel of the colour types decoded here: grey, RGB, RGBA (8 bits per sample).
BYTES_PER_PIXEL = {0: 1, 2: 3, 6: 4}
#: Ancillary chunks that no decoder turns into other pixel values (text, time, pixel size).
#: Any other chunk (transparency, gamma, colour profiles, a suggested palette) sends the file
#: to a complete decoder.
INERT = frozenset({b"tEXt", b"zTXt", b"iTXt", b"tIME", b"pHYs"})
#: Larger images go to a complete decoder, which applies its own limits; below it, 32-bit sums
#: of 8-bit samples are exact.
MAX_PIXELS = 2**23
_LENGTH_TYPE = struct.Struct(">I4s")
_HEADER = struct.Struct(">IIBBBBB")


def blue(data: bytes) -> np.ndarray | None:
    """The blue samples of a plain 8-bit RGB or RGBA PNG, the grey ones of a grey PNG (what
    ``cv2.imread(file)[..., 0]`` gives), or None when the file is not a plain one.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    (H, W) uint8 ndarray or None
        None for a file outside this route (see the module's description) or damaged in any
        way: a complete decoder then gives the answer, or the error.

    Examples
    --------
    >>> import cv2
    >>> bgr = np.array([[[3, 2, 1], [6, 5, 4]]], np.uint8)
    >>> blue(cv2.imencode(".png", bgr)[1].tobytes())
    array([[3, 6]], dtype=uint8)
    """
    return _decode(data, BYTES_PER_PIXEL)


def grey(data: bytes) -> np.ndarray | None:
    """The samples of a plain 8-bit grey PNG (what ``cv2.imread(file, cv2.IMREAD_UNCHANGED)``
    gives), or None for any other file (another colour type, or outside this route).

    Examples
    --------
    >>> import cv2
    >>> grey(cv2.imencode(".png", np.array([[0, 7, 255]], np.uint8))[1].tobytes())
    array([[  0,   7, 255]], dtype=uint8)
    """
    return _decode(data, {0: 1})


def _decode(data: bytes, colours: dict[int, int]) -> np.ndarray | None:
    """The blue (or grey) samples of a plain PNG of one of ``colours`` (colour type → bytes
    per pixel), else None."""
    parts = _image_data(data, colours)
    if parts is None:
        return None
    width, height, bpp, stream = parts
    stride = 1 + width * bpp
    try:
        inflater = zlib_ng.decompressobj()
        raw = inflater.decompress(stream, height * stride + 1)
    except zlib_ng.error:
        return None
    if len(raw) != height * stride or not inflater.eof or inflater.unused_data:
        return None
    rows = np.frombuffer(raw, np.uint8).reshape(height, stride)
    index = 0 if bpp == 1 else 2  # the file's order is R, G, B(, A)
    return _unfilter(rows[:, 0], rows[:, 1 + index :: bpp])


def _image_data(data: bytes, colours: dict[int, int]) -> tuple[int, int, int, bytes] | None:
    """Width, height, bytes per pixel and the joined ``IDAT`` stream of a plain PNG of one of
    ``colours``."""
    if data[:8] != SIGNATURE:
        return None
    position, header, stream, ended = 8, None, [], False
    while position < len(data) and not ended:
        if position + 12 > len(data):
            return None
        length, kind = _LENGTH_TYPE.unpack_from(data, position)
        end = position + 12 + length
        if end > len(data):
            return None
        body = data[position + 8 : end - 4]
        if zlib.crc32(data[position + 4 : end - 4]) != int.from_bytes(data[end - 4 : end], "big"):
            return None
        if header is None:
            if kind != b"IHDR" or length != _HEADER.size:
                return None
            header = _HEADER.unpack(body)
        elif kind == b"IDAT":
            if stream and not stream[-1]:  # IDAT chunks must follow one another
                return None
            stream.append(body)
        elif kind == b"IEND":
            ended = True
        elif kind in INERT:
            if stream:
                stream.append(b"")  # marks the end of the IDAT run
        else:
            return None
        position = end
    if not ended or position != len(data) or not any(stream):
        return None
    width, height, depth, colour, compression, filtering, interlace = header
    bpp = colours.get(colour)
    plain = depth == 8 and compression == filtering == interlace == 0
    if bpp is None or not plain or not 0 < width * height <= MAX_PIXELS:
        return None
    return width, height, bpp, b"".join(stream)


def _unfilter(kinds: np.ndarray, filtered: np.ndarray) -> np.ndarray | None:
    """Reconstruct one channel from its filtered bytes; None if a row is not filtered with
    "none" (0), "sub" (1) or "up" (2).

    "sub" adds the previous sample of the same channel in the row: a running sum along the
    row. "up" adds the sample above: over a run of "up" rows, a running sum down the columns
    started from the row before the run. PNG's sums wrap at 256: they are taken exactly in
    32 bits and wrapped once.
    """
    if kinds.max(initial=0) > 2:
        return None
    sub, up = kinds == 1, kinds == 2
    if sub.all():  # what OpenCV writes for a part mask
        return _running_sums(np.ascontiguousarray(filtered), axis=1)
    values = np.array(filtered)  # contiguous, writable
    if sub.any():
        values[sub] = _running_sums(values[sub], axis=1)
    if not up.any():
        return values
    # Row r of an "up" run is the sum of the rows from the run's start (the last row that is
    # not "up", or nothing above the first row) down to r.
    rows = np.arange(len(kinds))
    start = np.maximum.accumulate(np.where(up, -1, rows))
    totals = _running_sums(values, axis=0, wrap=False)
    within = start > 0
    totals[within] -= totals[start[within] - 1]
    return totals.astype(np.uint8)  # the wrap at 256


def _running_sums(values: np.ndarray, *, axis: int, wrap: bool = True) -> np.ndarray:
    """Cumulative sums of a uint8 array along ``axis``, as int32 or wrapped to uint8.

    From OpenCV's integral image (exact in 32 bits below :data:`MAX_PIXELS`): several times
    faster than ``np.cumsum``, which accumulates 8-bit integers one element at a time.
    """
    total = cv2.integral(values, sdepth=cv2.CV_32S)
    before = total[:-1, 1:] if axis == 1 else total[1:, :-1]
    if not wrap:
        return total[1:, 1:] - before
    # The difference cast to 8 bits as it is written: integer casts wrap.
    return np.subtract(
        total[1:, 1:], before, out=np.empty(values.shape, np.uint8), casting="unsafe"
    )
