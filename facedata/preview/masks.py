"""Pictures of mask families: masks over the demo face, and coverage histograms.

The masks are those a build of the demo source (``--src demo``) gives its first sample
(key :data:`DEMO_KEY`) with the same seed, size and mask options: mask k of the preview is
mask k of ``masks.npy`` there.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..masks import BUCKET_NAMES, FAMILIES, MaskContext, MaskSpec, histogram
from ..sources.demo import demo_face
from .config import MaskPreviewConfig
from .grid import tile

#: Key of the demo face in a ``--src demo`` build.
DEMO_KEY = "demo-000000"
CAPTION = 18


def caption(image: np.ndarray, text: str) -> np.ndarray:
    """Add a white strip with ``text`` under an RGB tile."""
    strip = np.full((CAPTION, image.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([image, strip], axis=0)


def demo_masks(
    spec: MaskSpec, *, n: int, size: int, seed: int
) -> tuple[np.ndarray, list[tuple[np.ndarray, dict]]]:
    """The demo face and its first ``n`` masks.

    Returns
    -------
    image : (size, size, 3) uint8 ndarray
    masks : list of (mask, info)
        As :meth:`MaskSpec.sample` for key :data:`DEMO_KEY`, indexes ``0 .. n-1``.
    """
    image, labels = demo_face(size=size)
    context = MaskContext(labels=labels)
    return image, [spec.sample(seed, DEMO_KEY, k, size, size, context) for k in range(n)]


def mask_row(
    image: np.ndarray, masks: list[tuple[np.ndarray, dict]], *, tile_size: int
) -> list[np.ndarray]:
    """Tiles of the holes (white) over the image, each captioned with coverage and family."""
    tiles = []
    for mask, info in masks:
        t = tile(mask, tile_size, style="hole", under=image)
        text = f"{info['coverage']:.1%} {info['family']} {info.get('part', '')}".rstrip()
        text += "" if info["in_range"] else " !"
        tiles.append(caption(t, text))
    return tiles


def arrange(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    """Lay equal-sized tiles out in rows of ``columns`` (the last row padded white)."""
    rows = []
    for start in range(0, len(tiles), columns):
        row = tiles[start : start + columns]
        row += [np.full_like(tiles[0], 255)] * (columns - len(row))
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def mask_preview(
    spec: MaskSpec,
    config: MaskPreviewConfig = MaskPreviewConfig(),
    *,
    with_histogram: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """A grid of ``config.count`` masks over the demo face with their coverage under each.

    Parameters
    ----------
    spec : MaskSpec
    config : MaskPreviewConfig
        How many masks, their side and seed, the tile side.
    with_histogram : bool
        Also plot the coverage histogram of the first ``config.histogram_count`` masks.

    Returns
    -------
    grid : (rows * (tile_size + 18), cols * tile_size, 3) uint8 ndarray
        RGB; ``cols = ceil(sqrt(count))``; a ``!`` marks masks outside the coverage bounds.
    histogram : (360, 640, 3) uint8 ndarray or None
        See :func:`coverage_histogram`; ``None`` unless asked for.
    """
    n, drawn = config.count, config.histogram_count if with_histogram else 0
    image, masks = demo_masks(spec, n=max(n, drawn), size=config.size, seed=config.seed)
    columns = int(np.ceil(np.sqrt(n)))
    grid = arrange(mask_row(image, masks[:n], tile_size=config.tile_size), columns)
    hist = None
    if with_histogram:
        coverages = [info["coverage"] for _, info in masks[:drawn]]
        hist = coverage_histogram(coverages, title=f"{spec.kind}: coverage of {len(coverages)}")
    return grid, hist


def family_sheet(
    kinds: tuple[str, ...] = tuple(FAMILIES),
    *,
    n: int = 6,
    size: int = 512,
    seed: int = 0,
    tile_size: int = 128,
) -> np.ndarray:
    """One row per family, ``n`` masks each over the demo face, the family named on the left."""
    rows = []
    for kind in kinds:
        image, masks = demo_masks(MaskSpec(kind), n=n, size=size, seed=seed)
        name = np.full((tile_size + CAPTION, tile_size, 3), 255, np.uint8)
        cv2.putText(name, kind, (6, tile_size // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0), 1, cv2.LINE_AA)  # fmt: skip
        rows.append(np.concatenate([name, *mask_row(image, masks, tile_size=tile_size)], axis=1))
    return np.concatenate(rows, axis=0)


def coverage_histogram(
    coverages: list[float], *, title: str = "", width: int = 640, height: int = 360
) -> np.ndarray:
    """Bar chart of the coverage buckets (0-10 % ... 90-100 %), drawn with OpenCV.

    Returns
    -------
    (height, width, 3) uint8 ndarray
        RGB, white background, one bar per bucket with its count above it.
    """
    counts = histogram(coverages)
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 40, 10, 45, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    bar_w = plot_w / len(BUCKET_NAMES)
    peak = max(1, max(counts.values()))
    font = cv2.FONT_HERSHEY_SIMPLEX
    text = title or f"coverage of {len(coverages)} masks"
    cv2.putText(img, text, (left, 20), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for i, name in enumerate(BUCKET_NAMES):
        x0 = int(left + i * bar_w + 3)
        x1 = int(left + (i + 1) * bar_w - 3)
        y0 = int(top + plot_h * (1 - counts[name] / peak))
        cv2.rectangle(img, (x0, y0), (x1, top + plot_h), (70, 110, 190), -1)
        cv2.putText(
            img,
            str(counts[name]),
            (x0, max(top + 10, y0 - 4)),
            font,
            0.35,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
        cv2.putText(
            img, f"{name}%", (x0 - 2, height - bottom + 16), font, 0.33, (0, 0, 0), 1, cv2.LINE_AA
        )
    cv2.line(img, (left, top + plot_h), (width - right, top + plot_h), (0, 0, 0), 1)
    return img
