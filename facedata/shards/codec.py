"""Encoding and decoding of sample fields, chosen by the field name's extension.

| extension | array                           | encoding                         |
|-----------|---------------------------------|----------------------------------|
| ``jpg``   | (H, W, 3) uint8 RGB             | JPEG, quality from the writer    |
| ``png``   | (H, W) uint8 or (H, W, 3) RGB   | PNG (single-channel stays "L")   |
| ``npy``   | any                             | ``numpy.save``                   |
| ``json``  | dict                            | sorted keys, UTF-8               |
"""

from __future__ import annotations

import io
import json
from typing import Any

import cv2
import numpy as np

from ..errors import CorruptShardError


def extension(field: str) -> str:
    """The part after the last dot (``"parsing.png"`` → ``"png"``)."""
    return field.rsplit(".", 1)[-1]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(field: str, value: Any, *, jpeg_quality: int = 95, png_level: int = 1) -> bytes:
    """Encode one field's value to bytes. Bytes pass through unchanged."""
    if isinstance(value, bytes):
        return value
    ext = extension(field)
    if ext == "json":
        return json.dumps(value, sort_keys=True, default=_json_default).encode("utf-8")
    if ext == "npy":
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(value), allow_pickle=False)
        return buf.getvalue()
    arr = np.ascontiguousarray(value)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3):
        raise ValueError(
            f"{field}: expected a uint8 (H, W) or (H, W, 3) array, got {arr.dtype} {arr.shape}"
        )
    if arr.ndim == 3:
        arr = arr[..., ::-1]  # OpenCV writes BGR
    if ext == "jpg":
        ok, buf = cv2.imencode(".jpg", arr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    elif ext == "png":
        ok, buf = cv2.imencode(".png", arr, [cv2.IMWRITE_PNG_COMPRESSION, png_level])
    else:
        raise ValueError(f"{field}: no encoder for extension {ext!r}")
    if not ok:
        raise ValueError(f"{field}: OpenCV could not encode the array")
    return buf.tobytes()


def decode(field: str, data: bytes) -> Any:
    """Decode one field's bytes: images to RGB or single-channel uint8 arrays.

    Raises
    ------
    CorruptShardError
        When the bytes do not decode.
    """
    ext = extension(field)
    try:
        if ext == "json":
            return json.loads(data.decode("utf-8"))
        if ext == "npy":
            return np.load(io.BytesIO(data), allow_pickle=False)
        if ext in ("jpg", "png"):
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            if img is None:
                raise ValueError("OpenCV could not decode it")
            return img[..., ::-1].copy() if img.ndim == 3 else img
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptShardError(f"field {field!r} does not decode: {exc}") from exc
    return data
