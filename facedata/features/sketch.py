"""From an edge map to a sketch that looks hand-drawn: 1-px strokes, 255 = line.

The clean-up follows what face-editing papers did to HED output:

- pix2pix (Isola et al., CVPR 2017, "edges2shoes/handbags") ran HED, then non-maximum
  suppression, a threshold at 25/255, thinning to one pixel and removal of components under
  5 pixels;
- SC-FEGAN (Jo & Park, ICCV 2019) additionally "smoothed the curves and erased small edges",
  and applied CLAHE to the photo before HED.

Every step is a pure function; :func:`clean` chains them with the options of a
:class:`SketchStyle`. :func:`xdog_edges` is the classical fallback when no HED weights exist
(Winnemöller et al., "XDoG: an eXtended difference-of-Gaussians compendium", Computers &
Graphics 2012).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..errors import ConfigError

#: CLAHE clip limit used when CLAHE is switched on.
CLAHE_CLIP = 2.0


@dataclass(frozen=True)
class SketchStyle:
    """The clean-up options; defaults chosen by looking at results on 512 px faces.

    Attributes
    ----------
    clahe_clip : float or None
        CLAHE clip limit applied to the photo's lightness before edge detection
        (:func:`equalize`); ``None`` skips it. Default ``None``: on faces it mostly adds
        skin, cloth and hair-texture lines to XDoG; SC-FEGAN's author used it before HED
        (``--clahe`` turns it on with :data:`CLAHE_CLIP`).
    nms_sigma : float or None
        Gaussian sigma (pixels) of the smoothing used to estimate the stroke direction for
        non-maximum suppression (:func:`nms`); ``None`` skips NMS. Default 2.0.
    threshold : float
        Edge probability at or above which a pixel is a line. Default 25/255 (pix2pix).
    thin : bool
        Thin lines to one pixel (:func:`thin`). Default True.
    min_pixels : int
        Line components (8-connected) with fewer pixels are erased (:func:`remove_specks`).
        Default 10: pix2pix's 5 leaves skin-texture dots on 512 px faces.
    smooth_sigma : float
        Gaussian sigma, in pixels along the stroke, of the curve smoothing
        (:func:`smooth_strokes`); 0 keeps the pixel path. Default 1.5.
    width_jitter : int
        Each stroke is drawn 1 to ``1 + width_jitter`` pixels wide, chosen per stroke from the
        sample's random generator. Default 0 (all strokes 1 px).
    xdog_sigma : float
        XDoG's sigma for a 512 px image, scaled linearly with the image side (the XDoG
        fallback only). Default 1.4: the common 0.8 suits ~256 px images; at 512 px it misses
        soft face outlines and draws texture.
    """

    clahe_clip: float | None = None
    nms_sigma: float | None = 2.0
    threshold: float = 25 / 255
    thin: bool = True
    min_pixels: int = 10
    smooth_sigma: float = 1.5
    width_jitter: int = 0
    xdog_sigma: float = 1.4

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"sketch threshold must be in [0, 1], got {self.threshold}")
        if self.min_pixels < 0 or self.width_jitter < 0 or self.smooth_sigma < 0:
            raise ConfigError(
                "sketch min_pixels, width_jitter and smooth_sigma must be >= 0, got "
                f"{self.min_pixels}, {self.width_jitter}, {self.smooth_sigma}"
            )


def equalize(image: np.ndarray, *, clip_limit: float = CLAHE_CLIP, tiles: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (CLAHE) of the lightness.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image.
    clip_limit : float
        OpenCV clip limit (relative to a uniform histogram).
    tiles : int
        The image is split into ``tiles`` x ``tiles`` regions.

    Returns
    -------
    (H, W, 3) uint8 ndarray
        RGB image whose L channel (CIELAB) is equalised; hue and saturation are kept.

    References
    ----------
    K. Zuiderveld, "Contrast Limited Adaptive Histogram Equalization", Graphics Gems IV, 1994.
    """
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def nms(edge: np.ndarray, *, sigma: float = 2.0, multiplier: float = 1.01) -> np.ndarray:
    """Non-maximum suppression across the stroke direction.

    The direction across a line is the Hessian eigenvector whose eigenvalue is largest in
    magnitude (the edge map curves most across a line: downwards on its crest, upwards on its
    flanks) of the edge map smoothed with ``sigma``; a pixel survives when ``multiplier``
    times its value is at least both neighbours one pixel away in that direction (bilinearly
    interpolated), as in the Structured Edge toolbox's ``edgesNms`` that pix2pix used.

    Parameters
    ----------
    edge : (H, W) float ndarray
        Edge strength, e.g. HED probability in [0, 1].
    sigma : float
        Smoothing (pixels) for the direction estimate only.
    multiplier : float
        Tolerance: ``1.01`` keeps plateaus and near-ties.

    Returns
    -------
    (H, W) float32 ndarray
        ``edge`` where it is a local maximum across the line, 0 elsewhere.
    """
    edge = np.asarray(edge, np.float32)
    smooth = cv2.GaussianBlur(edge, (0, 0), sigma) if sigma > 0 else edge
    gy, gx = np.gradient(smooth)
    hyy, hyx = np.gradient(gy)
    hxy, hxx = np.gradient(gx)
    # 0.5*atan2(2b, a-c) is the direction of the larger eigenvalue; it is also the larger in
    # magnitude exactly when the trace is positive, otherwise the normal is 90° from it.
    normal = 0.5 * np.arctan2(hxy + hyx, hxx - hyy) + np.where(hxx + hyy > 0, 0.0, np.pi / 2)
    dx, dy = np.cos(normal).astype(np.float32), np.sin(normal).astype(np.float32)
    ys, xs = np.mgrid[: edge.shape[0], : edge.shape[1]].astype(np.float32)
    keep = np.ones(edge.shape, bool)
    for sign in (-1.0, 1.0):
        near = cv2.remap(
            edge, xs + sign * dx, ys + sign * dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        keep &= edge * multiplier >= near
    return np.where(keep, edge, 0).astype(np.float32)


def thin(lines: np.ndarray) -> np.ndarray:
    """Thin binary lines to one pixel (Lam, Lee & Suen 1992, MATLAB ``bwmorph(..., 'thin')``).

    Parameters
    ----------
    lines : (H, W) bool ndarray

    Returns
    -------
    (H, W) bool ndarray
        8-connected 1-px skeleton; topology (components and holes) is preserved.
    """
    from skimage.morphology import thin as skimage_thin

    return skimage_thin(lines)


def remove_specks(lines: np.ndarray, *, min_pixels: int) -> np.ndarray:
    """Erase 8-connected components with fewer than ``min_pixels`` pixels.

    Parameters
    ----------
    lines : (H, W) bool ndarray
    min_pixels : int

    Returns
    -------
    (H, W) bool ndarray
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        lines.astype(np.uint8), connectivity=8
    )
    big = stats[:, cv2.CC_STAT_AREA] >= min_pixels
    big[0] = False  # background
    return big[labels]


_OFFSETS = ((0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))


def trace_strokes(lines: np.ndarray) -> list[tuple[np.ndarray, bool]]:
    """Split a 1-px line drawing into strokes (pixel paths).

    Walks start at line ends, then anywhere left (junction branches and closed loops); a walk
    steps to an unvisited 8-neighbour, preferring 4-neighbours so corner pixels are not
    skipped. A stroke that ends next to an already drawn pixel (a junction) takes that pixel
    as its last point, so strokes stay joined.

    Parameters
    ----------
    lines : (H, W) bool ndarray
        One-pixel-wide lines, e.g. from :func:`thin`.

    Returns
    -------
    list of ((K, 2) float64 ndarray, bool)
        Each stroke's ``(x, y)`` pixel centres in order, and whether it is a closed loop.
    """
    ys, xs = np.nonzero(lines)
    h, w = lines.shape
    index = np.full((h + 2, w + 2), -1, np.int64)
    index[ys + 1, xs + 1] = np.arange(len(ys))
    neighbours = np.stack([index[ys + 1 + dy, xs + 1 + dx] for dy, dx in _OFFSETS], axis=1).tolist()
    nbrs = [[j for j in row if j >= 0] for row in neighbours]  # 4-neighbours listed first
    visited = [False] * len(ys)
    strokes: list[tuple[np.ndarray, bool]] = []

    def walk(start: int) -> None:
        joined = [j for j in nbrs[start] if visited[j]]
        path = joined[:1] + [start]
        visited[start] = True
        cur = start
        while True:
            step = next((j for j in nbrs[cur] if not visited[j]), None)
            if step is None:
                break
            visited[step] = True
            path.append(step)
            cur = step
        closed = len(path) > 3 and path[0] in nbrs[cur] and not joined
        if not closed:
            end = [j for j in nbrs[cur] if visited[j] and j not in path[-3:]]
            path += end[:1]
        strokes.append((np.stack([xs[path], ys[path]], axis=1).astype(np.float64), closed))

    ends = [i for i, n in enumerate(nbrs) if len(n) == 1]
    for i in ends + list(range(len(ys))):
        if not visited[i]:
            walk(i)
    return strokes


def smooth_strokes(
    lines: np.ndarray,
    *,
    sigma: float,
    width_jitter: int = 0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Smooth each stroke's path and redraw it.

    The pixel path of every stroke (:func:`trace_strokes`) is smoothed with a 1-D Gaussian
    along its length (open strokes keep their end points, so junctions stay joined; loops
    wrap around) and redrawn as an 8-connected polyline at sub-pixel precision.

    Parameters
    ----------
    lines : (H, W) bool ndarray
        One-pixel-wide lines.
    sigma : float
        Smoothing in pixels along the stroke; 0 redraws the pixel path as is.
    width_jitter : int
        Each stroke is drawn with a width drawn uniformly from ``1 .. 1 + width_jitter``.
    rng : numpy.random.Generator, optional
        Needed when ``width_jitter > 0``.

    Returns
    -------
    (H, W) bool ndarray
    """
    if width_jitter > 0 and rng is None:
        raise ValueError("width_jitter > 0 needs an rng")
    out = np.zeros(lines.shape, np.uint8)
    for points, closed in trace_strokes(lines):
        if sigma > 0 and len(points) > 2:
            smooth = gaussian_filter1d(points, sigma, axis=0, mode="wrap" if closed else "nearest")
            if not closed:
                smooth[[0, -1]] = points[[0, -1]]
            points = smooth
        width = 1 + int(rng.integers(0, width_jitter + 1)) if width_jitter > 0 else 1
        if len(points) == 1:  # a lone pixel: OpenCV draws nothing for a one-point polyline
            points = np.repeat(points, 2, axis=0)
        fixed = np.rint(points * 16).astype(np.int32)[None]  # 4 fractional bits
        cv2.polylines(out, fixed, closed, 1, thickness=width, lineType=cv2.LINE_8, shift=4)
    return out.astype(bool)


def clean(
    edge: np.ndarray,
    *,
    style: SketchStyle = SketchStyle(),
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Edge map → sketch: NMS, threshold, thinning, speck removal, curve smoothing, jitter.

    Parameters
    ----------
    edge : (H, W) float ndarray
        Edge strength in [0, 1] (HED probability or :func:`xdog_edges`).
    style : SketchStyle
        Options; ``style.clahe_clip`` is not used here (it applies to the photo).
    rng : numpy.random.Generator, optional
        For ``style.width_jitter``.

    Returns
    -------
    (H, W) uint8 ndarray
        255 on lines, 0 elsewhere.
    """
    edge = np.asarray(edge, np.float32)
    if style.nms_sigma is not None:
        edge = nms(edge, sigma=style.nms_sigma)
    lines = edge >= style.threshold
    if style.thin:
        lines = thin(lines)
    lines = remove_specks(lines, min_pixels=style.min_pixels)
    if style.smooth_sigma > 0 or style.width_jitter > 0:
        lines = smooth_strokes(
            lines, sigma=style.smooth_sigma, width_jitter=style.width_jitter, rng=rng
        )
    return lines.astype(np.uint8) * np.uint8(255)


def xdog_edges(
    image: np.ndarray,
    *,
    sigma: float = 0.8,
    k: float = 1.6,
    gamma: float = 0.98,
    phi: float = 200.0,
    epsilon: float = -0.1,
) -> np.ndarray:
    """Line strength from the eXtended Difference of Gaussians (XDoG).

    On a channel ``I`` in [0, 1]: ``D = G_sigma * I - gamma * G_{k sigma} * I`` and
    ``T = 1`` where ``D < epsilon``, else ``1 + tanh(phi * D)``; ``T`` is white paper near 1
    (or above) and dark ink near 0. The line strength is ``clip(1 - T, 0, 1)``, which
    :func:`clean` treats like a HED map. A colour image takes the maximum over its R, G and B
    channels, so edges between colours of equal brightness (skin on a green background) are
    found too.

    Parameters
    ----------
    image : (H, W, 3) or (H, W) uint8 ndarray
        RGB or gray image.
    sigma, k, gamma, phi, epsilon : float
        XDoG parameters; the defaults are the common ones for [0, 1] input.

    Returns
    -------
    (H, W) float32 ndarray in [0, 1]
        1 on dark lines.

    References
    ----------
    H. Winnemöller, J. E. Kyprianidis, S. C. Olsen, "XDoG: an eXtended difference-of-Gaussians
    compendium including advanced image stylization", Computers & Graphics 36(6), 2012.
    """
    channels = image.astype(np.float32) / 255.0
    d = cv2.GaussianBlur(channels, (0, 0), sigma) - gamma * cv2.GaussianBlur(
        channels, (0, 0), k * sigma
    )
    t = np.where(d < epsilon, 1.0, 1.0 + np.tanh(phi * d))
    strength = np.clip(1.0 - t, 0.0, 1.0).astype(np.float32)
    return strength.max(axis=2) if strength.ndim == 3 else strength
