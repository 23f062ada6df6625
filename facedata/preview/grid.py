"""Contact sheets: one row per sample, one column per field, drawn as the field's spec says."""

from __future__ import annotations

import os
from itertools import islice

import cv2
import numpy as np

from ..errors import MissingDataError
from ..io.atomic import atomic_path
from ..labels import colorize
from ..shards.codec import decode
from ..shards.fields import manifest_specs
from ..shards.reader import iter_samples, load_manifest
from .config import PreviewConfig

#: Height in pixels of the dark band that carries the column names.
BAND = 18
#: Samples looked through for a photograph to show (see :func:`pick_samples`).
PHOTO_SCAN = 1000


def tile(
    value: np.ndarray, size: int, *, style: str, under: np.ndarray | None = None
) -> np.ndarray:
    """Render one field as an RGB tile of ``size`` x ``size``.

    Parameters
    ----------
    value : (H, W) or (H, W, 3) uint8 ndarray
    size : int
    style : str
        One of :data:`facedata.shards.fields.PREVIEWS`: ``image`` (RGB as is), ``gray``,
        ``labels`` (the official palette), ``hole`` (white where ``value`` is on, over
        ``under``, the image a network would see) or ``stretch`` (grey made visible: see
        :func:`stretch`).
    under : (H, W, 3) uint8 ndarray, optional
        The image under a ``hole`` (black when absent).

    >>> tile(np.full((4, 4), 3, np.uint8), 2, style="stretch")[..., 0].tolist()
    [[255, 255], [255, 255]]
    """
    if style == "labels":
        rgb = colorize(value)
    elif style == "hole":
        rgb = np.zeros((*value.shape[:2], 3), np.uint8) if under is None else under.copy()
        rgb[value > 0] = 255
    elif style == "image" and value.ndim == 3:
        rgb = value
    elif style == "stretch":
        return np.repeat(stretch(value, size)[..., None], 3, axis=2)
    else:
        rgb = np.repeat(value[..., None], 3, axis=2) if value.ndim == 2 else value
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)


def stretch(gray: np.ndarray, size: int) -> np.ndarray:
    """A faint grey map (thin HOG glyphs, mean about 4/255 at 512²) made visible in a tile:
    shrunk, its 99th percentile mapped to white, then a square-root (gamma 0.5) curve.

    >>> stretch(np.array([[0, 10], [40, 40]], np.uint8), 2).tolist()
    [[0, 128], [255, 255]]
    """
    small = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    top = np.percentile(small, 99) if small.size else 0.0
    if top <= 0:
        return small.astype(np.uint8)
    return (255 * np.sqrt(np.clip(small / top, 0, 1))).round().astype(np.uint8)


def label(img: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner of a tile, readable on any background."""
    out = img.copy()
    for colour, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, thick, cv2.LINE_AA)
    return out


def title_band(titles: list[str], width: int) -> np.ndarray:
    """A dark ``(BAND, len(titles) * width, 3)`` strip with one white title per column."""
    band = np.full((BAND, width * len(titles), 3), 32, np.uint8)
    for i, text in enumerate(titles):
        cv2.putText(band, text, (i * width + 4, BAND - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    return band


def is_photo(meta: dict) -> bool:
    """Whether a sample's metadata says it is a photograph aligned here (not a drawn face)."""
    return meta.get("align", {}).get("method") == "ffhq"


def pick_samples(out: str | os.PathLike, n: int, split: str | None = None) -> list[dict]:
    """The first ``n`` samples of a build, with its first photograph in the last place when
    none of them is one (so a preview of the demo shows the real photo beside drawn faces).

    Only the first :data:`PHOTO_SCAN` samples are looked through for a photograph, and only
    their metadata is decoded.
    """
    chosen, photo = [], None
    for raw in islice(iter_samples(out, split, decoded=False), max(n, PHOTO_SCAN)):
        if len(chosen) < n:
            chosen.append(raw)
        if photo is None and is_photo(decode("json", raw["json"]) if "json" in raw else {}):
            photo = raw
        if photo is not None and len(chosen) >= n:
            break
    if photo is not None and chosen and all(photo is not c for c in chosen):
        chosen[-1] = photo
    return [{k: v if k == "__key__" else decode(k, v) for k, v in s.items()} for s in chosen]


def shard_grid(out: str | os.PathLike, config: PreviewConfig = PreviewConfig()) -> np.ndarray:
    """A grid of ``config.count`` samples of a build (see :func:`pick_samples`), one column per
    field its specs give a preview style, in the build's field order.

    Returns
    -------
    (BAND + rows * config.tile_size, cols * config.tile_size, 3) uint8 ndarray
        RGB image; a dark band on top carries the field names.
    """
    specs = manifest_specs(load_manifest(out))
    tile_size = config.tile_size
    samples = pick_samples(out, config.count, config.split)
    if not samples:
        raise MissingDataError(f"{out} holds no samples")
    columns = [s for s in specs.values() if s.preview and any(s.name in x for x in samples)]
    rows = []
    blank = np.zeros((tile_size, tile_size, 3), np.uint8)
    for sample in samples:
        tiles = [
            tile(sample[c.name], tile_size, style=c.preview, under=sample.get("jpg"))
            if c.name in sample
            else blank
            for c in columns
        ]
        rows.append(np.concatenate(tiles, axis=1))
    titles = [c.name.removesuffix(".png") for c in columns]
    return np.concatenate([title_band(titles, tile_size), *rows], axis=0)


def save_rgb(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an RGB image (PNG/JPEG by extension) atomically."""
    with atomic_path(path, keep_suffix=True) as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(image[..., ::-1])):
            raise OSError(f"could not write {path}")
