"""Decoding untrusted image files into RGB ``uint8`` arrays, refusing what cannot be trusted.

libjpeg recovers from damaged data (random bytes mid-file, a missing end) with a warning and
goes on decoding garbage; OpenCV prints that warning and Pillow drops it. JPEGs are therefore
decoded by libjpeg-turbo through simplejpeg, which turns every such warning into an error unless
the caller accepts damage. Other formats go through Pillow, whose ``load()`` raises on
truncated data. The image size is read from the header before any pixel is decoded, so a
decompression bomb is refused without allocating it. EXIF orientation is applied, so a
portrait a camera stored sideways comes out upright.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pyspng
import simplejpeg
from PIL import Image

from ..errors import BadImageError
from . import png

#: Largest accepted image, in pixels (about 16k x 16k).
MAX_PIXELS = 256_000_000

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.integer):
        # 16-bit (and 32-bit integer) files use the full range of their type.
        bits = 16 if array.max(initial=0) < 65536 else 32
        return (array.astype(np.uint64) >> (bits - 8)).astype(np.uint8)
    return (np.clip(array, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def to_rgb(img: Image.Image) -> tuple[np.ndarray, str | None]:
    """Convert a decoded Pillow image of any mode to an ``(H, W, 3)`` RGB uint8 array.

    Returns
    -------
    rgb : (H, W, 3) uint8 ndarray
    conversion : str or None
        What was done, for the sample's metadata; ``None`` for plain 8-bit RGB.
    """
    mode = img.mode
    if mode == "RGB":
        return np.asarray(img, dtype=np.uint8), None
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        # Portrait cut-outs carry alpha; composite on white as photo editors show them.
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:] / 255.0
        rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return (rgb + 0.5).astype(np.uint8), f"{mode} composited on white"
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        gray = _to_uint8(np.asarray(img))
        return np.repeat(gray[..., None], 3, axis=2), f"{mode} gray scaled to 8 bit"
    return np.asarray(img.convert("RGB"), dtype=np.uint8), f"{mode} converted to RGB"


@dataclass(frozen=True)
class DecodedImage:
    """An image file decoded to upright RGB, with what was done to it.

    Attributes
    ----------
    rgb : (H, W, 3) uint8 ndarray
        Upright pixels; at reduced scale when the JPEG was decoded with ``reduce_to``.
    conversion : str or None
        Description of a mode conversion, or ``None`` for plain 8-bit RGB.
    size : (int, int)
        ``(width, height)`` of the file's full-resolution image once upright, whatever scale
        ``rgb`` was decoded at.
    orientation : int
        The EXIF orientation tag that was applied (1 = stored upright, 2-8 = flipped and/or
        rotated on reading).
    """

    rgb: np.ndarray
    conversion: str | None
    size: tuple[int, int]
    orientation: int


#: EXIF orientation tag → the operations that make the stored pixels upright (as Pillow's
#: ``ImageOps.exif_transpose``): transpose swaps the axes, then the rotation counter-clockwise.
_UPRIGHT = {2: (False, 0, True), 3: (False, 2, False), 4: (False, 2, True),
            5: (True, 0, False), 6: (False, 3, False), 7: (True, 2, False),
            8: (False, 1, False)}  # fmt: skip


def upright(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation tag to stored pixels.

    Parameters
    ----------
    rgb : (H, W[, C]) ndarray
        Pixels as stored in the file.
    orientation : int
        EXIF tag 274: 1 (upright) to 8; other values are treated as 1.

    Returns
    -------
    ndarray
        A contiguous copy (or ``rgb`` itself for orientation 1), ``(W, H[, C])`` for 5-8.

    Examples
    --------
    >>> upright(np.array([[1, 2], [3, 4]]), 6)  # stored rotated 90° counter-clockwise
    array([[3, 1],
           [4, 2]])
    """
    if orientation not in _UPRIGHT:
        return rgb
    transpose, quarter_turns, mirror = _UPRIGHT[orientation]
    out = np.swapaxes(rgb, 0, 1) if transpose else rgb
    out = np.rot90(out, quarter_turns)
    return np.ascontiguousarray(out[:, ::-1] if mirror else out)


def _jpeg_scale(size: tuple[int, int], reduce_to: int | None) -> int:
    """The largest of 1, 2, 4, 8 that keeps both sides at least ``reduce_to`` (Pillow's rule)."""
    if reduce_to is None:
        return 1
    room = min(size[0] // reduce_to, size[1] // reduce_to)
    return next((d for d in (8, 4, 2) if room >= d), 1)


def _decode_jpeg(
    path: Path, img: Image.Image, scale: int, strict: bool
) -> tuple[np.ndarray, str | None]:
    colorspace = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}.get(img.mode)
    if colorspace is None:
        raise BadImageError(f"{path} is a {img.mode} JPEG, which cannot be decoded")
    w, h = img.size
    try:
        pixels = simplejpeg.decode_jpeg(
            path.read_bytes(),
            colorspace=colorspace,
            min_width=math.ceil(w / scale),
            min_height=math.ceil(h / scale),
            strict=strict,
        )
    except ValueError as exc:
        raise BadImageError(
            f"{path} cannot be decoded cleanly: {exc} (libjpeg would recover and return wrong "
            "pixels; pass --accept-damaged to keep such images anyway)"
        ) from exc
    if colorspace == "GRAY":
        return np.repeat(pixels, 3, axis=2), "L converted to RGB"
    if colorspace == "CMYK":
        # Adobe's inverted CMYK and its conversion are Pillow's business, at the same scale.
        img.draft("RGB", (pixels.shape[1], pixels.shape[0]))
        img.load()
        return np.asarray(img.convert("RGB"), dtype=np.uint8), "CMYK converted to RGB"
    return pixels, None


def decode_image(
    path: str | os.PathLike,
    *,
    max_pixels: int = MAX_PIXELS,
    reduce_to: int | None = None,
    strict: bool = True,
) -> DecodedImage:
    """Decode an image file to upright RGB ``uint8``.

    Parameters
    ----------
    path : path
        Image file (JPEG, PNG, WebP, BMP; any bit depth or channel count).
    max_pixels : int
        Refuse images whose header announces more pixels than this.
    reduce_to : int, optional
        A JPEG is decoded at the smallest 1/2, 1/4 or 1/8 scale (libjpeg's scaled inverse DCT)
        whose sides are still at least this many pixels, instead of decoding every pixel of a
        larger image that is about to be shrunk anyway. Other formats decode at full size.
    strict : bool
        Refuse a JPEG whose decoder reports recoverable damage (``Corrupt JPEG data``,
        ``Premature end of JPEG file``). ``False`` keeps what libjpeg makes of it.

    Returns
    -------
    DecodedImage

    Raises
    ------
    BadImageError
        Empty, truncated, damaged (when ``strict``), undecodable or oversized files.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadImageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0:
        raise BadImageError(f"{path} is an empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise BadImageError(
                        f"{path} announces {w}x{h} pixels, more than the limit of {max_pixels}"
                    )
                tag = img.getexif().get(0x0112, 1)
                orientation = tag if tag in _UPRIGHT else 1
                if img.format == "JPEG":
                    scale = _jpeg_scale((w, h), reduce_to)
                    rgb, conversion = _decode_jpeg(path, img, scale, strict)
                else:
                    img.load()
                    rgb, conversion = to_rgb(img)
    except BadImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImageError(f"{path} announces more pixels than the limit ({exc})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImageError(f"{path} cannot be decoded: {exc}") from exc
    if orientation >= 5:
        w, h = h, w
    return DecodedImage(upright(rgb, orientation), conversion, (w, h), orientation)


def read_image(
    path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS, reduce_to: int | None = None
) -> tuple[np.ndarray, str | None]:
    """The pixels and conversion of :func:`decode_image` (strict), for callers that need no
    more.

    Returns
    -------
    rgb : (H, W, 3) uint8 ndarray
    conversion : str or None
    """
    decoded = decode_image(path, max_pixels=max_pixels, reduce_to=reduce_to)
    return decoded.rgb, decoded.conversion


#: PNG (colour type, bit depth) pairs that libspng decodes to the values ``cv2.imread`` gives
#: (grey 1/8/16-bit, RGB and RGBA 8/16-bit, 8-bit palette; tests/test_part_png.py checks each).
#: Others (grey + alpha, which pyspng refuses; palettes under 8 bits) go through OpenCV.
SPNG_FORMATS = frozenset({(0, 1), (0, 8), (0, 16), (2, 8), (2, 16), (3, 8), (6, 8), (6, 16)})


def _spng_blue(data: bytes) -> np.ndarray | None:
    """``cv2.imread(file)[..., 0]`` of PNG bytes by libspng, or None for a format it does not
    decode the same way (or cannot decode)."""
    if len(data) < 29 or data[:8] != png.SIGNATURE or data[12:16] != b"IHDR":
        return None
    if (data[25], data[24]) not in SPNG_FORMATS:
        return None
    try:
        decoded = pyspng.load(data)
    except RuntimeError:  # damaged: OpenCV's verdict stands, as in g_mask.py
        return None
    # libspng keeps the file's channel order (RGB, RGBA, grey, grey + alpha): blue is index 2.
    if decoded.ndim == 3:
        decoded = decoded[..., 2] if decoded.shape[2] >= 3 else decoded[..., 0]
    if decoded.dtype == np.uint16:
        decoded = (decoded >> 8).astype(np.uint8)  # OpenCV's 16-to-8 bit: the high byte
    return np.ascontiguousarray(decoded)


def read_part_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a CelebAMask-HQ part PNG exactly as the official ``g_mask.py`` reads it.

    ``g_mask.py`` calls ``cv2.imread(file)`` (colour, 8-bit: BGR, 16-bit values shifted down
    by 8 bits, alpha dropped) and keeps channel 0, the blue one; a pixel belongs to the part
    where that channel is non-zero. The same decoder runs here, on bytes read by Python, so a
    file that cannot be read (a symbolic-link loop, no permission, a folder) says why.

    Returns
    -------
    (H, W) uint8 ndarray
        The blue channel of the 8-bit BGR decode.

    Raises
    ------
    BadImageError
        When the file cannot be read or decoded.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BadImageError(f"cannot read part mask {path}: {exc.strerror or exc}") from exc
    # The plain files of the release through zlib-ng first (six times faster than libspng),
    # then libspng (twice as fast as OpenCV), then OpenCV: the same values from each.
    blue = png.blue(data)
    if blue is None:
        blue = _spng_blue(data)
    if blue is not None:
        return blue
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BadImageError(f"part mask {path} cannot be decoded as an image")
    return np.ascontiguousarray(bgr[..., 0])


def read_label_png(path: str | os.PathLike) -> np.ndarray:
    """Read the first channel of a PNG as a 2-D ``uint8`` array (annotation masks).

    8-bit values are returned as stored; deeper masks become 0/255 (zero / non-zero).

    OpenCV is used here because annotation PNGs are many and small: it reads them several
    times faster than Pillow. It returns colour as BGR(A), so the PNG's first channel (red)
    is index 2.

    Raises
    ------
    BadImageError
        When the file cannot be decoded.
    """
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise BadImageError(f"{path} cannot be decoded as PNG")
    if arr.ndim == 3:
        arr = arr[..., 2] if arr.shape[2] >= 3 else arr[..., 0]
    # Only zero versus non-zero matters in a mask: scaling 16 bits down could zero a 1.
    return arr if arr.dtype == np.uint8 else (arr != 0).view(np.uint8) * np.uint8(255)
