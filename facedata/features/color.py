"""SC-FEGAN colour maps: each parsing segment filled with the median colour of a smoothed image.

SC-FEGAN (Jo and Park 2019) conditions its generator on a colour map made from the training
image: a median filter of size 3, 20 passes of a bilateral filter, then every segment of the
face parsing filled with that segment's median colour. The bilateral parameters are not in the
paper; the defaults here are those of a public re-implementation (diameter 20, sigma_color 30,
sigma_space 30, at 512 x 512).

Twenty full-resolution bilateral passes cost about a second per 512 x 512 image. Because only
one median per segment survives, the smoothing can run on a coarser grid: with
``Smoothing.factor = f`` the median filter runs at full resolution, the bilateral passes run on
every ``f``-th pixel of every ``f``-th row (diameter and ``sigma_space`` divided by ``f``, the
same ``sigma_color``), and each pixel reads the smoothed value of its ``f x f`` block.
``factor=1`` is SC-FEGAN's own full-resolution schedule (:data:`SCFEGAN`). The grid samples thin
parts such as eyes and brows too sparsely, so segments under ``Smoothing.exact_below`` of the
image take their median from the full schedule run on a crop around them. docs/color.md gives
the measured speed and the per-segment colour differences on real photographs.

Every function takes one image as a numpy array (smoothed with OpenCV) or a batch as a torch
tensor on any device (smoothed by :func:`facedata.features.bilateral.bilateral_filter`, which
reproduces OpenCV's window, weights and rounding, as a Triton kernel on CUDA), and returns the
same kind.

References
----------
Y. Jo and J. Park, "SC-FEGAN: Face Editing Generative Adversarial Network with User's Sketch
and Color", ICCV 2019.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from .arrays import cast, like, namespace
from .bilateral import bilateral_filter

#: How the segments of label 0 (background) are filled.
BACKGROUNDS = ("median", "zero")
#: Default :attr:`Smoothing.exact_below` and :attr:`Smoothing.exact_margin` (docs/color.md
#: gives the real-photo measurements they come from).
EXACT_BELOW = 0.04
EXACT_MARGIN = 16


@dataclass(frozen=True)
class Smoothing:
    """How the image is smoothed before each segment takes its median colour.

    Attributes
    ----------
    median_size : int
        Side of the median filter (odd; 1 skips it). SC-FEGAN: 3.
    passes : int
        Bilateral-filter passes. SC-FEGAN: 20.
    diameter : int
        Bilateral window diameter in full-resolution pixels (OpenCV's ``d``: the window is
        the disk of radius ``d // 2``).
    sigma_color : float
        Bilateral range sigma, on the sum of the absolute RGB differences (0-255 scale).
    sigma_space : float
        Bilateral spatial sigma in full-resolution pixels.
    factor : int
        Grid step of the bilateral passes; 1 = full resolution (SC-FEGAN's schedule).
    exact_below : float
        With ``factor > 1``, segments covering less than this fraction of the image take
        their median from SC-FEGAN's full-resolution schedule run on a crop around them
        (the coarse grid samples thin parts such as eyes and brows too sparsely); 0 turns
        it off.
    exact_margin : int
        Pixels added around such segments' bounding box for the crop (overlapping crops are
        merged). The bilateral passes see this much context; the full schedule's influence
        reaches further, so the crop's colours are close to, not equal to, the full ones.
    """

    median_size: int = 3
    passes: int = 20
    diameter: int = 20
    sigma_color: float = 30.0
    sigma_space: float = 30.0
    factor: int = 4
    exact_below: float = EXACT_BELOW
    exact_margin: int = EXACT_MARGIN

    def __post_init__(self) -> None:
        if self.median_size < 1 or self.median_size % 2 == 0:
            raise ConfigError(f"median_size must be odd and >= 1, got {self.median_size}")
        if self.passes < 0 or self.diameter < 1 or self.factor < 1:
            raise ConfigError(
                "passes must be >= 0, diameter and factor >= 1; got "
                f"passes={self.passes}, diameter={self.diameter}, factor={self.factor}"
            )
        if not 0 <= self.exact_below <= 1 or self.exact_margin < 0:
            raise ConfigError(
                "exact_below must be in [0, 1] and exact_margin >= 0; got "
                f"exact_below={self.exact_below}, exact_margin={self.exact_margin}"
            )
        if not (self.sigma_color > 0 and self.sigma_space > 0):
            raise ConfigError(
                f"sigma_color and sigma_space must be > 0, got {self.sigma_color}, "
                f"{self.sigma_space}"
            )

    @property
    def grid_diameter(self) -> int:
        """Bilateral diameter on the smoothing grid."""
        return max(1, round(self.diameter / self.factor))


#: SC-FEGAN's schedule at full resolution (the slow reference route).
SCFEGAN = Smoothing(factor=1)


def color_map(
    image: Any,
    labels: Any,
    *,
    smoothing: Smoothing = Smoothing(),
    background: str = "median",
) -> Any:
    """SC-FEGAN colour map: :func:`smooth`, then :func:`fill_segments`.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray, or (B, H, W, 3) uint8 torch tensor
        RGB image(s).
    labels : (H, W) or (B, H, W) integer ndarray or tensor
        Parsing label map(s) (official CelebAMask-HQ ids; 0 = background), same kind and
        height and width as ``image``.
    smoothing : Smoothing
        Filter schedule; :data:`SCFEGAN` for the full-resolution reference.
    background : {'median', 'zero'}
        Fill label 0 with its median colour like any segment, or with black.

    Returns
    -------
    (H, W, 3) or (B, H, W, 3) uint8 ndarray or tensor
        Constant over each label, equal to that label's per-channel median (rounded half to
        even) in the smoothed image.

    Examples
    --------
    >>> image = np.full((32, 32, 3), 200, np.uint8)
    >>> labels = np.zeros((32, 32), np.uint8)
    >>> labels[8:24, 8:24] = 1
    >>> color_map(image, labels, background="zero")[[0, 16], [0, 16]].tolist()
    [[0, 0, 0], [200, 200, 200]]
    """
    s = smoothing
    if s.passes == 0 or s.factor == 1:
        return fill_segments(smooth(image, smoothing=s), labels, background=background)
    _check_fill(image, labels, background)
    _check_image(image)
    xp = namespace(image)
    median = _median_filter(image, s.median_size)
    grid = _bilateral_grid(median, s)
    n_labels = int(labels.max()) + 1
    if xp is np:
        table, segment = _grid_table(grid, labels, s.factor, n_labels), labels
    else:
        table, segment = _segment_table(_expand(grid, s.factor, image.shape[-3:-1]), labels)
    if s.exact_below > 0:
        _refine_small_segments(table, median, labels, s, n_labels)
    if background == "zero":
        table[::n_labels] = 0
    return table[segment]


def smooth(image: Any, *, smoothing: Smoothing = Smoothing()) -> Any:
    """The median then repeated bilateral filtering of SC-FEGAN's colour maps.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray, or (B, H, W, 3) uint8 torch tensor
        RGB image(s).
    smoothing : Smoothing
        Filter schedule.

    Returns
    -------
    (H, W, 3) or (B, H, W, 3) uint8 ndarray or tensor
        With ``factor > 1``, constant over ``factor x factor`` blocks (the last block of a row
        or column may be wider).
    """
    s = smoothing
    if s.passes == 0:
        _check_image(image)
        return _median_filter(image, s.median_size)
    grid = _smooth_grid(image, s)
    return grid if s.factor == 1 else _expand(grid, s.factor, image.shape[-3:-1])


def _smooth_grid(image: Any, s: Smoothing) -> Any:
    """The median filter, then the bilateral passes on every ``s.factor``-th pixel."""
    _check_image(image)
    return _bilateral_grid(_median_filter(image, s.median_size), s)


def _bilateral_grid(median: Any, s: Smoothing) -> Any:
    """The bilateral passes of ``s`` on every ``s.factor``-th pixel of a median-filtered image."""
    offset = s.factor // 2
    return _bilateral(
        median[..., offset :: s.factor, offset :: s.factor, :],
        diameter=s.grid_diameter,
        sigma_color=s.sigma_color,
        sigma_space=s.sigma_space / s.factor,
        passes=s.passes,
    )


def fill_segments(image: Any, labels: Any, *, background: str = "median") -> Any:
    """Fill every label of ``labels`` with the per-channel median of its pixels in ``image``.

    The medians come from per-segment histograms (one ``bincount`` per channel), so the cost
    is linear in the pixels, whatever the number of labels.

    Parameters
    ----------
    image : (H, W, C) uint8 ndarray, or (B, H, W, C) uint8 torch tensor
        Image(s) whose colours are summarised.
    labels : (H, W) or (B, H, W) integer ndarray or tensor, values 0-255
        Label map(s) of the same height and width.
    background : {'median', 'zero'}
        How label 0 is filled.

    Returns
    -------
    (H, W, C) or (B, H, W, C) uint8 ndarray or tensor
        The median is that of ``numpy.median`` (mean of the two middle values for an even
        count), rounded half to even.
    """
    _check_fill(image, labels, background)
    n_labels = int(labels.max()) + 1
    table, segment = _segment_table(image, labels)
    if background == "zero":
        table[::n_labels] = 0
    return table[segment]


def _segment_table(image: Any, labels: Any) -> tuple[Any, Any]:
    """Per-segment medians of an image or batch, and every pixel's segment id.

    Returns the ``(B * n_labels, C)`` uint8 table (image ``b``'s label ``k`` at row
    ``b * n_labels + k``; ``B`` is 1 for a numpy image) and the ids, shaped like ``labels``.
    """
    xp = namespace(image)
    batch = image[None] if xp is np else image
    n_images, n_channels = batch.shape[0], batch.shape[-1]
    n_labels = int(labels.max()) + 1
    # Segment id of every pixel, unique across the batch.
    segment = cast(labels, xp.int64).reshape(n_images, -1)
    segment = segment + like(np.arange(n_images)[:, None] * n_labels, segment)
    pixels = cast(batch, xp.int64).reshape(-1, n_channels)
    table = _median_table(segment.reshape(-1), pixels, n_images * n_labels)
    return table, segment.reshape(labels.shape)


def _refine_small_segments(
    table: Any, median: Any, labels: Any, s: Smoothing, n_labels: int
) -> None:
    """Replace, in ``table``, the medians of segments under ``s.exact_below`` of the image by
    those of the full-resolution schedule run on crops around them (in place).

    ``median`` is the median-filtered image (or batch) and ``table`` has a row per (image,
    label) as :func:`_segment_table` lays it out.
    """
    xp = namespace(median)
    single = xp is np
    maps = labels[None] if single else labels
    host = maps if single else maps.cpu().numpy()
    limit = s.exact_below * host.shape[1] * host.shape[2]
    for b, label_map in enumerate(host):
        counts = np.bincount(label_map.ravel(), minlength=n_labels)
        small = np.flatnonzero((counts > 0) & (counts < limit))
        for (y0, y1, x0, x1), members in _crops(label_map, small, s.exact_margin):
            crop = median[y0:y1, x0:x1] if single else median[b : b + 1, y0:y1, x0:x1]
            smoothed = _bilateral(
                crop,
                diameter=s.diameter,
                sigma_color=s.sigma_color,
                sigma_space=s.sigma_space,
                passes=s.passes,
            )
            segment = cast(maps[b, y0:y1, x0:x1], xp.int64).reshape(-1)
            values = cast(smoothed, xp.int64).reshape(-1, smoothed.shape[-1])
            crop_table = _median_table(segment, values, n_labels)
            rows = like(np.asarray(members), crop_table)
            table[b * n_labels + rows] = crop_table[rows]


def _crops(
    labels: np.ndarray, segments: np.ndarray, margin: int
) -> list[tuple[tuple[int, int, int, int], list[int]]]:
    """``((y0, y1, x0, x1), segments)``: each segment's bounding box grown by ``margin`` and
    clipped to the image, overlapping boxes merged (the face's parts share one crop)."""
    height, width = labels.shape
    boxes = []
    for k in segments.tolist():
        at = labels == k
        rows, cols = np.flatnonzero(at.any(1)), np.flatnonzero(at.any(0))
        box = (
            max(0, int(rows[0]) - margin),
            min(height, int(rows[-1]) + 1 + margin),
            max(0, int(cols[0]) - margin),
            min(width, int(cols[-1]) + 1 + margin),
        )
        boxes.append((box, [k]))
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                (a, ka), (c, kc) = boxes[i], boxes[j]
                if a[0] < c[1] and c[0] < a[1] and a[2] < c[3] and c[2] < a[3]:
                    union = (min(a[0], c[0]), max(a[1], c[1]), min(a[2], c[2]), max(a[3], c[3]))
                    boxes[i] = (union, ka + kc)
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


def _check_fill(image: Any, labels: Any, background: str) -> None:
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}, not {background!r}")
    xp = namespace(image)
    single = xp is np
    if image.ndim != (3 if single else 4) or image.dtype != xp.uint8:
        expected = "(H, W, C)" if single else "(B, H, W, C)"
        raise ValueError(
            f"expected a uint8 image of shape {expected}, got {image.dtype} {tuple(image.shape)}"
        )
    if tuple(labels.shape) != tuple(image.shape[:-1]) or namespace(labels) is not xp:
        raise ValueError(
            f"labels {tuple(labels.shape)} must be a {xp.__name__} array with the image's "
            f"leading shape {tuple(image.shape[:-1])}"
        )


def _median_table(segment: Any, values: Any, n_segments: int, weights: Any = None) -> Any:
    """(n_segments, C) uint8: per segment and channel, the median of ``values`` (N, C) over
    the items of each segment id in ``segment`` (N,), each item counted ``weights`` times."""
    xp = namespace(values)
    medians = []
    for c in range(values.shape[-1]):
        hist = xp.bincount(segment * 256 + values[:, c], weights, minlength=n_segments * 256)
        cum = hist.reshape(-1, 256).cumsum(-1)
        count = cum[:, -1:]
        # The k-th smallest value is the number of values whose cumulative count is <= k.
        lower = (cum <= (count - 1) // 2).sum(-1)
        upper = (cum <= count // 2).sum(-1)
        medians.append(xp.round((lower + upper) / 2))
    return cast(xp.stack(medians, -1), xp.uint8)


def _grid_table(grid: np.ndarray, labels: np.ndarray, factor: int, n_labels: int) -> np.ndarray:
    """(n_labels, C) uint8: the medians :func:`fill_segments` takes of
    ``_expand(grid, factor, labels.shape)``, without expanding.

    Every pixel of a block reads the block's grid value, so a segment's values are the grid
    values of the blocks it touches, each as many times as it has pixels there: the
    histograms are taken over (block, segment) pairs weighted by their pixel counts, one
    pass over the pixels instead of one per channel. Same medians, a third of the time.
    """
    height, width = labels.shape
    rows = np.minimum(np.arange(height) // factor, grid.shape[0] - 1)
    cols = np.minimum(np.arange(width) // factor, grid.shape[1] - 1)
    pair = ((rows[:, None] * grid.shape[1] + cols) * n_labels + labels).reshape(-1)
    counts = np.bincount(pair, minlength=grid.shape[0] * grid.shape[1] * n_labels)
    present = np.flatnonzero(counts)
    block, segment = present // n_labels, present % n_labels
    values = grid.reshape(-1, grid.shape[-1])[block].astype(np.int64)
    return _median_table(segment, values, n_labels, counts[present])


def _check_image(image: Any) -> None:
    xp = namespace(image)
    ndim = 3 if xp is np else 4
    if image.ndim != ndim or image.shape[-1] != 3 or image.dtype != xp.uint8:
        expected = "(H, W, 3)" if xp is np else "(B, H, W, 3)"
        raise ValueError(
            f"expected a uint8 RGB image of shape {expected}, got {image.dtype} "
            f"{tuple(image.shape)}"
        )


def _expand(grid: Any, factor: int, shape: tuple[int, int]) -> Any:
    """Each pixel of a ``shape`` image takes the grid value of its ``factor``-block."""
    rows = np.minimum(np.arange(shape[0]) // factor, grid.shape[-3] - 1)
    cols = np.minimum(np.arange(shape[1]) // factor, grid.shape[-2] - 1)
    return grid[..., like(rows, grid), :, :][..., like(cols, grid), :]


def _median_filter(image: Any, size: int) -> Any:
    """OpenCV's ``medianBlur`` (edge pixels replicated), or its torch equivalent."""
    if size == 1:
        return image
    if isinstance(image, np.ndarray):
        import cv2

        return cv2.medianBlur(image, size)
    height, width = image.shape[1:3]
    pad = size // 2
    rows = like(np.clip(np.arange(-pad, height + pad), 0, height - 1), image)
    cols = like(np.clip(np.arange(-pad, width + pad), 0, width - 1), image)
    padded = image[:, rows][:, :, cols]
    if size == 3:
        return _median3(padded)
    windows = padded.permute(0, 3, 1, 2).unfold(2, size, 1).unfold(3, size, 1)
    median = windows.reshape(windows.shape[:4] + (size * size,)).median(-1).values
    return median.permute(0, 2, 3, 1)


def _median3(padded: Any) -> Any:
    """3 x 3 medians of a (B, H + 2, W + 2, C) tensor, any dtype, as (B, H, W, C).

    With each column of three sorted, the median of the nine values is the median of the
    largest low, the median middle and the smallest high: a dozen elementwise minima and
    maxima over the image instead of a sort per pixel (the unfold-and-median route copies
    every window, nine values per pixel and channel).
    """
    import torch

    def median3(a: Any, b: Any, c: Any) -> Any:
        return torch.maximum(torch.minimum(a, b), torch.minimum(torch.maximum(a, b), c))

    def columns(x: Any) -> tuple[Any, Any, Any]:
        return x[:, :, :-2], x[:, :, 1:-1], x[:, :, 2:]

    top, middle, bottom = padded[:, :-2], padded[:, 1:-1], padded[:, 2:]
    low = torch.minimum(torch.minimum(top, middle), bottom)
    high = torch.maximum(torch.maximum(top, middle), bottom)
    mid = median3(top, middle, bottom)
    a, b, c = columns(low)
    largest_low = torch.maximum(torch.maximum(a, b), c)
    a, b, c = columns(high)
    smallest_high = torch.minimum(torch.minimum(a, b), c)
    return median3(largest_low, median3(*columns(mid)), smallest_high)


def _bilateral(
    image: Any, *, diameter: int, sigma_color: float, sigma_space: float, passes: int
) -> Any:
    """``passes`` rounds of OpenCV's ``bilateralFilter`` (uint8 in and out of every pass)."""
    if isinstance(image, np.ndarray):
        import cv2

        x = np.ascontiguousarray(image)
        for _ in range(passes):
            x = cv2.bilateralFilter(x, diameter, sigma_color, sigma_space)
        return x
    return bilateral_filter(
        image, diameter=diameter, sigma_color=sigma_color, sigma_space=sigma_space, passes=passes
    )
