"""Histograms of oriented gradients (HOG): the numbers of ``skimage.feature.hog``, vectorised.

HOG (Dalal and Triggs 2005) in five steps, exactly as scikit-image computes them:

1. optional power-law compression (``transform_sqrt``);
2. central-difference gradients along rows and columns (zero on the image border); for a
   colour image each pixel keeps the gradient of its channel with the largest magnitude;
3. per cell, the gradient magnitudes are summed into ``orientations`` unsigned orientation
   bins over [0, 180) degrees (hard binning, no interpolation) and divided by the cell area;
4. every block of ``cells_per_block`` cells is normalised (``L1``, ``L1-sqrt``, ``L2`` or
   ``L2-Hys``);
5. the normalised blocks are flattened.

The HOG-guided face inpainting work conditions its network on such a map; facedata stores
the per-cell histograms of step 3 (:func:`cell_histograms`) and the glyph image that
scikit-image draws with ``visualize=True`` (:func:`render_glyphs`).

Every function takes a numpy array (one image) or a torch tensor (a batch, on any device) and
returns the same kind: one vectorised implementation serves the CPU build and GPU batches.
Pixels outside the last whole cell are ignored, as in scikit-image.

Dtypes follow scikit-image: :func:`hog` returns float32 for float16 and float32 images and
float64 for all others (:func:`float_type`); :func:`cell_histograms` are float64 whatever the
input; :func:`render_glyphs` draws in ``hist``'s dtype or the one it is given, so
``render_glyphs(hist, dtype=float_type(image.dtype))`` has the dtype of ``visualize=True``.

References
----------
N. Dalal and B. Triggs, "Histograms of Oriented Gradients for Human Detection", CVPR 2005.
scikit-image, ``skimage/feature/_hog.py`` and ``_hoghistogram.pyx``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .arrays import cast, like, namespace, zeros

#: Block normalisations, as named by scikit-image.
BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")
#: The small constant scikit-image adds to every block norm.
EPS = 1e-5


def hog(
    image: Any,
    *,
    orientations: int = 9,
    pixels_per_cell: tuple[int, int] = (8, 8),
    cells_per_block: tuple[int, int] = (3, 3),
    block_norm: str = "L2-Hys",
    transform_sqrt: bool = False,
    feature_vector: bool = True,
    channel_axis: int | None = None,
) -> Any:
    """HOG descriptor, equal to ``skimage.feature.hog`` with the same arguments.

    Parameters
    ----------
    image : (M, N[, C]) ndarray, or (B, M, N[, C]) torch tensor
        One image as a numpy array, or a batch as a tensor on any device. Any real dtype;
        ``transform_sqrt`` needs non-negative values.
    orientations : int
        Number of orientation bins over [0, 180) degrees.
    pixels_per_cell : (int, int)
        Cell size in pixels (rows, columns).
    cells_per_block : (int, int)
        Block size in cells (rows, columns).
    block_norm : {'L1', 'L1-sqrt', 'L2', 'L2-Hys'}
        Block normalisation; ``L2-Hys`` clips at 0.2 and renormalises.
    transform_sqrt : bool
        Take the square root of the image first (power-law compression).
    feature_vector : bool
        Flatten each descriptor.
    channel_axis : int or None
        Axis of the colour channels of ``image``; None for a grayscale image.

    Returns
    -------
    (n_blocks_row, n_blocks_col, b_row, b_col, orientations) ndarray
        Normalised blocks, with ``n_blocks = M // c - b + 1`` along each axis, in
        :func:`float_type` of the image's dtype (scikit-image's policy: float32 for float16 and
        float32 images, float64 otherwise); a tensor with a leading batch axis for tensor
        input. With ``feature_vector`` the last five axes are flattened.

    Raises
    ------
    ValueError
        For a bad option, or an image smaller than one block.

    Examples
    --------
    >>> image = np.tile(np.arange(32, dtype=np.uint8) * 8, (32, 1))
    >>> hog(image, pixels_per_cell=(8, 8), cells_per_block=(2, 2)).shape
    (324,)
    """
    hist = cell_histograms(
        image,
        orientations=orientations,
        pixels_per_cell=pixels_per_cell,
        transform_sqrt=transform_sqrt,
        channel_axis=channel_axis,
    )
    blocks = normalize_blocks(hist, cells_per_block=cells_per_block, block_norm=block_norm)
    blocks = cast(blocks, float_type(image.dtype))
    if feature_vector:
        return blocks.reshape(blocks.shape[:-5] + (-1,))
    return blocks


def cell_histograms(
    image: Any,
    *,
    orientations: int = 9,
    pixels_per_cell: tuple[int, int] = (8, 8),
    transform_sqrt: bool = False,
    channel_axis: int | None = None,
) -> Any:
    """Per-cell histograms of gradient orientation (steps 1-3 of :func:`hog`).

    Parameters
    ----------
    image : (M, N[, C]) ndarray, or (B, M, N[, C]) torch tensor
        As in :func:`hog`.
    orientations, pixels_per_cell, transform_sqrt, channel_axis
        As in :func:`hog`.

    Returns
    -------
    (M // c_row, N // c_col, orientations) float64 ndarray
        Bin ``o`` of a cell holds the sum of the gradient magnitudes of its pixels whose
        orientation lies in ``[o, o + 1) * 180 / orientations`` degrees, divided by the cell
        area: the mean magnitude per pixel, in the units of ``image`` (at most ``sqrt(2)``
        times the image's value range). float64 for every input dtype, as scikit-image's
        histograms are. A tensor with a leading batch axis for tensor input.

    Raises
    ------
    ValueError
        For a bad option or an image smaller than one cell.
    """
    c_row, c_col = _pair(pixels_per_cell, "pixels_per_cell")
    if int(orientations) != orientations or orientations < 1:
        raise ValueError(f"orientations must be a positive integer, got {orientations!r}")
    xp = namespace(image)
    x, single = _channels_first_batch(image, channel_axis)
    n_rows, n_cols = x.shape[-2] // c_row, x.shape[-1] // c_col
    if n_rows < 1 or n_cols < 1:
        raise ValueError(
            f"the image ({x.shape[-2]}x{x.shape[-1]}) is smaller than one cell "
            f"({c_row}x{c_col}); use smaller pixels_per_cell"
        )
    g_row, g_col = _dominant_gradients(x, n_rows * c_row, n_cols * c_col, transform_sqrt)
    if xp is np and g_row.dtype.kind == "i":
        # 8-bit images have integer gradients in [-255, 255]: the bin and the magnitude of
        # every pair are in tables, ten times faster than arctan2 per pixel and 1.5 times
        # faster than the float64 square roots.
        pair = g_row.astype(np.int32)
        pair += 255
        pair *= 511
        pair += g_col
        pair += 255
        bins = np.take(_orientation_table(orientations), pair)
        magnitude = np.take(_magnitude_table(), pair)
    else:
        g_row, g_col = cast(g_row, xp.float64), cast(g_col, xp.float64)
        magnitude = xp.sqrt(g_row * g_row + g_col * g_col)
        bins = _orientation_bins(g_row, g_col, orientations)

    # One bincount over (image, cell, bin); bin == orientations collects the few pixels that
    # scikit-image leaves out of every bin (see _orientation_bins) and is dropped.
    batch = x.shape[0]
    n_bins = orientations + 1
    cells = like(_cell_index(n_rows, n_cols, c_row, c_col, n_bins), bins)
    offsets = like(np.arange(batch).reshape(-1, 1, 1) * (n_rows * n_cols * n_bins), bins)
    hist = xp.bincount(
        (offsets + cells + bins).reshape(-1),
        weights=magnitude.reshape(-1),
        minlength=batch * n_rows * n_cols * n_bins,
    )
    hist = hist.reshape(batch, n_rows, n_cols, n_bins)[..., :orientations] / (c_row * c_col)
    return hist[0] if single else hist


def normalize_blocks(
    hist: Any, *, cells_per_block: tuple[int, int] = (3, 3), block_norm: str = "L2-Hys"
) -> Any:
    """Normalise overlapping blocks of cells (step 4 of :func:`hog`).

    Parameters
    ----------
    hist : (..., R, K, orientations) float ndarray or tensor
        Cell histograms from :func:`cell_histograms`.
    cells_per_block, block_norm
        As in :func:`hog`.

    Returns
    -------
    (..., R - b_row + 1, K - b_col + 1, b_row, b_col, orientations) ndarray or tensor
        Each block divided by its norm (``L1``: sum of absolute values + 1e-5; ``L2``:
        sqrt(sum of squares + 1e-10)); ``L1-sqrt`` takes the square root afterwards,
        ``L2-Hys`` clips at 0.2 and normalises again.

    Raises
    ------
    ValueError
        For an unknown ``block_norm`` or fewer cells than one block.
    """
    b_row, b_col = _pair(cells_per_block, "cells_per_block")
    if block_norm not in BLOCK_NORMS:
        raise ValueError(f"block_norm must be one of {', '.join(BLOCK_NORMS)}, not {block_norm!r}")
    n_rows, n_cols, n_orient = hist.shape[-3:]
    nb_row, nb_col = n_rows - b_row + 1, n_cols - b_col + 1
    if nb_row < 1 or nb_col < 1:
        raise ValueError(
            f"{n_rows}x{n_cols} cells are fewer than one block of {b_row}x{b_col} cells; the "
            "image needs at least b_row * c_row rows and b_col * c_col columns"
        )
    xp = namespace(hist)
    blocks = xp.stack(
        [hist[..., i : i + nb_row, j : j + nb_col, :] for i in range(b_row) for j in range(b_col)],
        -2,
    )
    lead = blocks.shape[:-2]
    flat = blocks.reshape(lead + (b_row * b_col * n_orient,))
    if block_norm in ("L1", "L1-sqrt"):
        out = flat / (abs(flat).sum(-1)[..., None] + EPS)
        if block_norm == "L1-sqrt":
            out = xp.sqrt(out)
    else:
        out = flat / xp.sqrt((flat * flat).sum(-1)[..., None] + EPS**2)
        if block_norm == "L2-Hys":
            out = out.clip(max=0.2)
            out = out / xp.sqrt((out * out).sum(-1)[..., None] + EPS**2)
    return out.reshape(lead + (b_row, b_col, n_orient))


def render_glyphs(
    hist: Any,
    *,
    pixels_per_cell: tuple[int, int] = (8, 8),
    shape: tuple[int, int] | None = None,
    dtype: Any = None,
) -> Any:
    """The HOG glyph image that ``skimage.feature.hog(..., visualize=True)`` draws.

    Each cell gets one line segment per orientation bin through its centre, perpendicular to
    the bin's mid angle, of length ``2 * (min(pixels_per_cell) // 2 - 1)`` pixels; a pixel's
    value is the sum of the histogram values of the segments through it. The end points are
    scikit-image's, truncated from the image-wide coordinates: truncation does not commute
    with the shift to another cell (``int(r * c + x)`` is not always ``r * c + int(x)`` in
    floating point), so a few cell rows and columns get segments of their own. Cells that
    share all their segments form a group, and each group's glyphs are one matrix product
    of its histograms with its segment stencils, instead of one ``draw.line`` call per cell
    and bin.

    Parameters
    ----------
    hist : (..., R, K, orientations) float ndarray or tensor
        Cell histograms from :func:`cell_histograms`.
    pixels_per_cell : (int, int)
        The cell size the histograms were computed with; at least 2 pixels each way.
    shape : (int, int), optional
        Output height and width (at least ``R * c_row`` by ``K * c_col``), e.g. the image
        size; pixels outside the cells stay 0. Default: the cells' extent.
    dtype : numpy or torch float dtype, optional
        Dtype of the result; default ``hist``'s. scikit-image draws in the image's float type:
        pass ``dtype=float_type(image.dtype)`` (float32 for float16 and float32 images,
        float64 otherwise) for its dtype. The sums are made in float64 and then cast.

    Returns
    -------
    (..., H, W) ndarray or tensor
        Of ``dtype``, values >= 0 when ``hist`` is.

    Raises
    ------
    ValueError
        For cells smaller than 2 pixels or a ``shape`` smaller than the cells.

    Examples
    --------
    >>> glyphs = render_glyphs(np.ones((1, 1, 2)), pixels_per_cell=(4, 4))
    >>> glyphs.astype(int).tolist()
    [[0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 2, 0], [0, 1, 0, 1]]
    """
    c_row, c_col = _pair(pixels_per_cell, "pixels_per_cell")
    if min(c_row, c_col) < 2:
        raise ValueError(f"glyphs need cells of at least 2x2 pixels, got {c_row}x{c_col}")
    n_rows, n_cols, n_orient = hist.shape[-3:]
    lead = hist.shape[:-3]
    height, width = shape if shape is not None else (n_rows * c_row, n_cols * c_col)
    if height < n_rows * c_row or width < n_cols * c_col:
        raise ValueError(
            f"shape {height}x{width} is smaller than the {n_rows * c_row}x{n_cols * c_col} "
            "pixels the cells cover"
        )
    xp = namespace(hist)
    dtype = hist.dtype if dtype is None else dtype
    values = cast(hist, xp.float64)
    row_groups, col_groups, stencils = _glyph_groups(n_orient, n_rows, n_cols, c_row, c_col)
    if len(stencils) == 1:
        cells = values @ like(stencils[0, 0], values)
    else:
        cells = zeros(lead + (n_rows, n_cols, c_row * c_col), values)
        for (i, j), stencil in stencils.items():
            rows, cols = like(row_groups[i], values), like(col_groups[j], values)
            at = (..., rows[:, None], cols[None, :], slice(None))
            cells[at] = values[at] @ like(stencil, values)
    cells = cells.reshape(lead + (n_rows, n_cols, c_row, c_col)).swapaxes(-3, -2)
    glyphs = cast(cells.reshape(lead + (n_rows * c_row, n_cols * c_col)), dtype)
    if (height, width) == glyphs.shape[-2:]:
        return glyphs
    out = zeros(lead + (height, width), glyphs)
    out[..., : n_rows * c_row, : n_cols * c_col] = glyphs
    return out


def float_type(dtype: Any) -> Any:
    """The float dtype scikit-image computes HOG in for images of ``dtype``.

    float32 for float16 and float32 (and torch's bfloat16), float64 for every other dtype
    (integers included), as ``skimage.util.dtype._supported_float_type``: :func:`hog`
    returns it, and ``render_glyphs(..., dtype=float_type(image.dtype))`` draws in it.

    Examples
    --------
    >>> float_type(np.dtype(np.float32)), float_type(np.dtype(np.uint8))
    (dtype('float32'), dtype('float64'))
    """
    if type(dtype).__module__.startswith("torch"):
        import torch

        low = (torch.float16, torch.bfloat16, torch.float32)
        return torch.float32 if dtype in low else torch.float64
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype in (np.float16, np.float32) else np.dtype(np.float64)


def glyph_image(glyphs: Any) -> Any:
    """Glyphs from :func:`render_glyphs` as a uint8 image, each scaled to a maximum of 255.

    Parameters
    ----------
    glyphs : (..., H, W) float ndarray or tensor, values >= 0

    Returns
    -------
    (..., H, W) uint8 ndarray or tensor
        ``round(255 * glyphs / max)`` per image; an all-zero image stays 0.
    """
    xp = namespace(glyphs)
    lead = glyphs.shape[:-2]
    peak = xp.amax(glyphs.reshape(lead + (-1,)), -1)[..., None, None]
    scale = 255 / xp.where(peak > 0, peak, 1)
    return cast(xp.round(glyphs * scale), xp.uint8)


def _pair(value: tuple[int, int], name: str) -> tuple[int, int]:
    pair = tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < 1 for v in pair):
        raise ValueError(f"{name} must be two positive integers, got {value!r}")
    return int(pair[0]), int(pair[1])


def _channels_first_batch(image: Any, channel_axis: int | None) -> tuple[Any, bool]:
    """``image`` as a (B, C, M, N) view, and whether it was a single numpy image."""
    xp = namespace(image)
    single = xp is np
    spatial = image.ndim - (channel_axis is not None) - (0 if single else 1)
    if spatial != 2:
        expected = "(M, N[, C])" if single else "(B, M, N[, C])"
        raise ValueError(
            f"expected an image of shape {expected} with channel_axis naming C, got shape "
            f"{tuple(image.shape)} and channel_axis={channel_axis}"
        )
    x = image[None] if single else image
    if channel_axis is None:
        return x[:, None], single
    axis = channel_axis % image.ndim + (1 if single else 0)
    return xp.moveaxis(x, axis, 1), single


def _dominant_gradients(x: Any, height: int, width: int, transform_sqrt: bool) -> tuple[Any, Any]:
    """Row and column gradients of the (B, C, M, N) batch over its first ``height`` rows
    and ``width`` columns, each pixel taking the channel of largest gradient magnitude."""
    xp = namespace(x)
    # 8-bit images have exact int16 gradients (the float64 values scikit-image computes).
    exact = x.dtype in (xp.uint8, xp.int8) and not transform_sqrt
    if exact:
        x = cast(x, xp.int16)
    else:
        x = cast(x, xp.float32 if x.dtype in (xp.float16, xp.float32) else xp.float64)
        if transform_sqrt:
            x = xp.sqrt(x)
    rows, cols = x.shape[-2:]
    g_row = zeros(x.shape[:2] + (height, width), x)
    g_col = zeros(x.shape[:2] + (height, width), x)
    # Central differences; the image's first and last row (column) keep a zero gradient.
    last_row, last_col = min(height, rows - 1), min(width, cols - 1)
    g_row[..., 1:last_row, :] = x[..., 2 : last_row + 1, :width] - x[..., : last_row - 1, :width]
    g_col[..., 1:last_col] = x[..., :height, 2 : last_col + 1] - x[..., :height, : last_col - 1]
    if x.shape[1] == 1:
        return g_row[:, 0], g_col[:, 0]
    if exact:
        return _select_packed(g_row, g_col)
    score = xp.hypot(g_row, g_col)
    best, row, col = score[:, 0], g_row[:, 0], g_col[:, 0]
    for c in range(1, x.shape[1]):
        wins = score[:, c] > best  # strictly: ties keep the first channel, like argmax
        best = xp.where(wins, score[:, c], best)
        row = xp.where(wins, g_row[:, c], row)
        col = xp.where(wins, g_col[:, c], col)
    return row, col


def _select_packed(g_row: Any, g_col: Any) -> tuple[Any, Any]:
    """Per pixel, the int16 gradients of the channel with the largest squared norm (the first
    on ties) among up to 256 channels of a (B, C, H, W) batch.

    Each channel becomes one int64 key: squared norm (< 2**17), then 255 - channel, then the
    two gradients in the low 32 bits; one running maximum over channels then selects all of
    it, three times faster than ``where`` on the separate arrays. Integer squared norms rank
    like scikit-image's float64 ``hypot``, ties included.
    """
    xp = namespace(g_row)
    best = None
    for c in range(g_row.shape[1]):
        row, col = cast(g_row[:, c], xp.int64), cast(g_col[:, c], xp.int64)
        key = ((row * row + col * col) << 40) | ((255 - c) << 32)
        key = key | ((row & 0xFFFF) << 16) | (col & 0xFFFF)
        best = key if best is None else xp.maximum(best, key)
    # Back from two's-complement 16-bit fields to signed values.
    row = (((best >> 16) + 0x8000) & 0xFFFF) - 0x8000
    col = ((best + 0x8000) & 0xFFFF) - 0x8000
    return row, col


def _orientation_bins(g_row: Any, g_col: Any, orientations: int) -> Any:
    """Bin index of every pixel's unsigned gradient orientation, as scikit-image assigns it.

    scikit-image computes ``rad2deg(arctan2(g_row, g_col)) % 180`` in float64 and compares it
    with bin edges held in float32; a value of exactly 180 (from a tiny negative angle) falls
    in no bin and gets index ``orientations``.
    """
    xp = namespace(g_row)
    degrees = xp.rad2deg(xp.arctan2(g_row, g_col))
    # Python's float modulo of a value in [-180, 180], without numpy's slow remainder; adding
    # 0 or 180 is exactly what the modulo does. (Mask products: `where` is slower still.)
    degrees = degrees - 180 * (degrees >= 180)
    degrees = degrees + 180 * (degrees < 0)
    edges = like(_bin_edges(orientations), degrees)
    bins = cast(degrees * (orientations / 180), xp.int64)
    # The float32 edges differ from k * 180 / n by far less than a bin: one step each way.
    bins = bins - 1 * (degrees < edges[bins])
    return bins + 1 * (degrees >= edges[bins + 1])


@functools.lru_cache(maxsize=4)
def _orientation_table(orientations: int) -> np.ndarray:
    """(511 * 511,) int64: :func:`_orientation_bins` of every integer gradient pair, at
    ``(g_row + 255) * 511 + g_col + 255``."""
    values = np.arange(-255, 256, dtype=np.float64)
    table = _orientation_bins(values[:, None], values[None, :], orientations).reshape(-1)
    table.flags.writeable = False
    return table


@functools.lru_cache(maxsize=1)
def _magnitude_table() -> np.ndarray:
    """(511 * 511,) float64: ``sqrt(g_row² + g_col²)`` of every integer gradient pair, at
    ``(g_row + 255) * 511 + g_col + 255``: the float64 values :func:`cell_histograms` computes
    (the squares and their sum are exact)."""
    values = np.arange(-255, 256, dtype=np.float64)
    table = np.sqrt(values[:, None] ** 2 + values[None, :] ** 2).reshape(-1)
    table.flags.writeable = False
    return table


@functools.lru_cache(maxsize=16)
def _bin_edges(orientations: int) -> np.ndarray:
    """Lower edges of the bins as scikit-image's float32 arithmetic makes them, then the
    upper edge of the last bin and an infinite sentinel."""
    width = np.float32(180.0 / orientations)
    edges = (width * np.arange(orientations + 1, dtype=np.float32)).astype(np.float64)
    return np.append(edges, np.inf)


@functools.lru_cache(maxsize=16)
def _cell_index(n_rows: int, n_cols: int, c_row: int, c_col: int, n_bins: int) -> np.ndarray:
    """(1, n_rows * c_row, n_cols * c_col) int64: each pixel's cell times ``n_bins``."""
    rows = np.arange(n_rows * c_row) // c_row
    cols = np.arange(n_cols * c_col) // c_col
    index = (rows[:, None] * n_cols + cols[None, :]) * n_bins
    index.flags.writeable = False
    return index[None]


@functools.lru_cache(maxsize=16)
def _glyph_groups(
    orientations: int, n_rows: int, n_cols: int, c_row: int, c_col: int
) -> tuple[list[np.ndarray], list[np.ndarray], dict[tuple[int, int], np.ndarray]]:
    """Cells grouped by their segments: the cell rows of each row group, the cell columns of
    each column group, and per (row group, column group) the (orientations, c_row * c_col)
    float64 stencil that is 1 on each bin's segment.

    The end points are scikit-image's: ``int(centre - dc)`` and so on, on the image-wide centre
    coordinates, with its numpy float64 trigonometry. A segment's row ends depend only on the
    cell row and its column ends only on the cell column, so rows (columns) with the same
    cell-relative ends for every bin form a group; usually there is one of each.
    """
    radius = min(c_row, c_col) // 2 - 1
    mid = np.pi * (np.arange(orientations) + 0.5) / orientations
    d_row, d_col = radius * np.sin(mid), radius * np.cos(mid)
    top = np.arange(n_rows)[:, None] * c_row
    left = np.arange(n_cols)[:, None] * c_col
    # Truncation towards zero, like int() (every coordinate is positive); then cell-relative.
    row_ends = np.stack([top + c_row // 2 - d_col, top + c_row // 2 + d_col], -1)
    col_ends = np.stack([left + c_col // 2 + d_row, left + c_col // 2 - d_row], -1)
    row_ends = row_ends.astype(np.int64) - top[..., None]
    col_ends = col_ends.astype(np.int64) - left[..., None]
    row_kinds, row_of = np.unique(row_ends, axis=0, return_inverse=True)
    col_kinds, col_of = np.unique(col_ends, axis=0, return_inverse=True)
    stencils = {}
    for i, rows in enumerate(row_kinds.tolist()):
        for j, cols in enumerate(col_kinds.tolist()):
            stencil = np.zeros((orientations, c_row, c_col))
            for o, ((r0, r1), (c0, c1)) in enumerate(zip(rows, cols)):
                rr, cc = _line(r0, c0, r1, c1)
                stencil[o, rr, cc] = 1.0
            stencil.flags.writeable = False
            stencils[i, j] = stencil.reshape(orientations, c_row * c_col)
    row_groups = [np.flatnonzero(row_of.ravel() == i) for i in range(len(row_kinds))]
    col_groups = [np.flatnonzero(col_of.ravel() == j) for j in range(len(col_kinds))]
    return row_groups, col_groups, stencils


def _line(r0: int, c0: int, r1: int, c1: int) -> tuple[list[int], list[int]]:
    """Pixels of the segment (r0, c0)-(r1, c1) by Bresenham's algorithm, as
    ``skimage.draw.line`` rasterises it (at most a cell's width of steps)."""
    steep = abs(r1 - r0) > abs(c1 - c0)
    if steep:  # iterate along the longer axis
        r0, c0, r1, c1 = c0, r0, c1, r1
    d_major, d_minor = abs(c1 - c0), abs(r1 - r0)
    s_major = 1 if c1 > c0 else -1
    s_minor = 1 if r1 > r0 else -1
    rr, cc = [], []
    r, c = r0, c0
    error = 2 * d_minor - d_major
    for _ in range(d_major):
        rr.append(c if steep else r)
        cc.append(r if steep else c)
        while error >= 0:
            r += s_minor
            error -= 2 * d_major
        c += s_major
        error += 2 * d_minor
    rr.append(c1 if steep else r1)
    cc.append(r1 if steep else c1)
    return rr, cc
