"""Decoding untrusted image files into RGB ``uint8`` arrays, refusing what cannot be trusted.

OpenCV decodes a damaged JPEG as best it can and only prints a warning, so decoding goes
through Pillow, whose ``load()`` raises on truncated data. The image size is read from the
header before any pixel is decoded, so a decompression bomb is refused without allocating it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import BadImageError

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


def read_image(
    path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS, reduce_to: int | None = None
) -> tuple[np.ndarray, str | None]:
    """Decode an image file to RGB ``uint8``.

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

    Returns
    -------
    rgb : (H, W, 3) uint8 ndarray
    conversion : str or None
        Description of a mode conversion, or ``None``.

    Raises
    ------
    BadImageError
        Empty, truncated, undecodable or oversized files.
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
                if reduce_to is not None and img.format == "JPEG":
                    img.draft(img.mode, (reduce_to, reduce_to))
                img.load()
                return to_rgb(img)
    except BadImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImageError(f"{path} announces more pixels than the limit ({exc})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImageError(f"{path} cannot be decoded: {exc}") from exc


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
