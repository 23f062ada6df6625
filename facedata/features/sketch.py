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
from functools import reduce

import cv2
import numpy as np

from ..errors import ConfigError
from ..options import option

#: CLAHE clip limit used when CLAHE is switched on.
CLAHE_CLIP = 2.0
#: Starting high threshold of :func:`xdog_sketch`, in :func:`dark_edges` units: a clear
#: edge of a sharp 512 px face.
XDOG_THRESHOLD = 0.02


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
    xdog_lines : tuple of float
        The share of line pixels the XDoG fallback aims into (:func:`xdog_sketch`): its
        threshold, then its scale, adapt until the thinned lines cover at least the first and
        at most the second. Default (0.015, 0.10).
    xdog_fragment : int
        XDoG lines with fewer pixels are erased (HED keeps ``min_pixels``). Default 20: XDoG's
        short fragments are texture and noise, about a fifth of its line pixels otherwise.
    """

    clahe_clip: float | None = option(None, switch=("--clahe/--no-clahe", CLAHE_CLIP))
    nms_sigma: float | None = 2.0
    threshold: float = 25 / 255
    thin: bool = True
    min_pixels: int = 10
    smooth_sigma: float = 1.5
    width_jitter: int = option(0, flag="--stroke-jitter")
    xdog_sigma: float = 1.4
    xdog_lines: tuple[float, float] = (0.015, 0.10)
    xdog_fragment: int = 20

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
    # Every temporary is dropped as soon as it is used and the rest is done in place: fresh
    # megabyte arrays cost page faults, which were a third of this function's time.
    smooth = cv2.GaussianBlur(edge, (0, 0), sigma) if sigma > 0 else edge
    gy, gx = np.gradient(smooth)
    del smooth
    hyy, hyx = np.gradient(gy)
    del gy
    hxy, hxx = np.gradient(gx)
    del gx
    hxy += hyx
    del hyx
    dx, dy = _across(hxx, hxy, hyy)
    del hxx, hxy, hyy
    xs = np.arange(edge.shape[1], dtype=np.float32)
    ys = np.arange(edge.shape[0], dtype=np.float32)[:, None]
    tolerant = edge * multiplier
    keep = np.ones(edge.shape, bool)
    map_x, map_y = np.empty_like(edge), np.empty_like(edge)
    for step in (np.subtract, np.add):  # the neighbours at -(dx, dy) and +(dx, dy)
        step(xs, dx, out=map_x)
        step(ys, dy, out=map_y)
        near = cv2.remap(edge, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        keep &= tolerant >= near
    return np.multiply(edge, keep, out=tolerant)


def _across(hxx: np.ndarray, hxy2: np.ndarray, hyy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vector of the Hessian eigen-direction of largest |eigenvalue|, per pixel.

    ``theta = 0.5 * atan2(hxy2, hxx - hyy)`` is the direction of the larger eigenvalue
    (``hxy2`` is twice the mixed derivative); it is also the larger in magnitude exactly
    when the trace is positive, otherwise the normal is 90° from it. Its cosine and sine
    come from the half-angle formulas: a few multiplications where ``arctan2``, ``cos`` and
    ``sin`` on float64 took more than half of the NMS time.
    """
    u = hxx - hyy
    # OpenCV's magnitude rounds the elements before its output's first 32-byte boundary
    # differently from the rest: into an aligned array, every run gives the same bits.
    r = cv2.magnitude(u, hxy2, _aligned(u.shape))
    # In place (fresh arrays cost page faults), with the float32 roundings of
    # ``cos2 = u / r`` (1 where r = 0), ``cos = sqrt(max(0.5 + 0.5 * cos2, 0))`` and
    # ``sin = copysign(sqrt(max(0.5 - 0.5 * cos2, 0)), hxy2)``.
    zero = r == 0
    with np.errstate(divide="ignore", invalid="ignore"):  # replaced by 1 just after
        half = np.divide(u, r, out=r)  # unmasked: a third of the time of where=
    np.copyto(half, 1.0, where=zero)
    half *= 0.5
    cos = np.add(half, 0.5)
    sin = np.subtract(0.5, half, out=half)
    for part in (cos, sin):
        np.sqrt(np.maximum(part, 0, out=part), out=part)
    np.copysign(sin, hxy2, out=sin)
    # (cos, sin) turned by 90° is (-sin, cos), where the trace is not positive. Chosen with
    # bit masks on the float32 words: masked copies branch on every pixel and took half of
    # this function's time. Negation is the sign bit.
    turn = np.negative(np.less_equal(np.add(hxx, hyy, out=u), 0).view(np.uint8), dtype=np.uint32)
    cos_bits, sin_bits = cos.view(np.uint32), sin.view(np.uint32)
    swap = np.bitwise_xor(cos_bits, sin_bits, out=u.view(np.uint32))
    swap &= turn
    np.bitwise_xor(sin_bits, swap, out=sin_bits)  # dy: cos where turned, else sin
    turn &= np.uint32(0x80000000)
    swap ^= turn
    np.bitwise_xor(cos_bits, swap, out=cos_bits)  # dx: -sin where turned, else cos
    return cos, sin


def _aligned(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float32 array whose data starts on a 64-byte boundary."""
    size = int(np.prod(shape)) * 4
    raw = np.empty(size + 64, np.uint8)
    start = -raw.ctypes.data % 64
    return raw[start : start + size].view(np.float32).reshape(shape)


def _thin_tables() -> tuple[np.ndarray, np.ndarray]:
    """Keep-tables (1 = keep) of the two sub-iterations, indexed by neighbourhood code.

    Bit ``k`` of a code is neighbour ``x_{k+1}``, counter-clockwise from the east
    (:data:`_NEIGHBOURS`). A pixel is deleted when G1 (one 8-connected run of neighbours,
    crossing number 1), G2 (``2 <= min(n1, n2) <= 3``) and G3 (first sub-iteration) or G3'
    (second) hold, as in Guo & Hall's algorithm A1.
    """
    bits = np.arange(256)[:, None] >> np.arange(8) & 1
    x = [bits[:, k].astype(bool) for k in range(8)]
    x.append(x[0])  # x9 = x1
    crossing = sum(~x[2 * i] & (x[2 * i + 1] | x[2 * i + 2]) for i in range(4))
    n1 = sum(x[2 * i] | x[2 * i + 1] for i in range(4))
    n2 = sum(x[2 * i + 1] | x[2 * i + 2] for i in range(4))
    g12 = (crossing == 1) & (np.minimum(n1, n2) >= 2) & (np.minimum(n1, n2) <= 3)
    g3 = ~((x[1] | x[2] | ~x[7]) & x[0])
    g3p = ~((x[5] | x[6] | ~x[3]) & x[4])
    return (~(g12 & g3)).astype(np.uint8), (~(g12 & g3p)).astype(np.uint8)


#: ``(dy, dx)`` of neighbours x1 (east), x2 (north-east), ... x8 (south-east): bit ``k`` of a
#: neighbourhood code is neighbour ``x_{k+1}``.
_NEIGHBOURS = ((0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1))
_THIN_TABLES = _thin_tables()


def thin(lines: np.ndarray) -> np.ndarray:
    """Thin binary lines to one pixel (Guo & Hall 1989, MATLAB ``bwmorph(..., 'thin')``).

    The same two-sub-iteration parallel algorithm as ``skimage.morphology.thin``, with the
    same result; each sub-iteration looks up the neighbourhood code of every line pixel in a
    table. Only line pixels are visited (a few percent of a sketch), which makes it several
    times faster than filtering the whole image.

    Parameters
    ----------
    lines : (H, W) bool ndarray

    Returns
    -------
    (H, W) bool ndarray
        8-connected 1-px skeleton; topology (components and holes) is preserved.

    References
    ----------
    Z. Guo and R. W. Hall, "Parallel thinning with two-subiteration algorithms", Comm. ACM
    32(3), 1989; L. Lam, S.-W. Lee and C. Y. Suen, "Thinning methodologies - a comprehensive
    survey", IEEE TPAMI 14(9), 1992.
    """
    lines = np.asarray(lines, bool)
    framed, _ = _thinned(np.flatnonzero(lines), lines.shape)
    return framed[1:-1, 1:-1].astype(bool)


def _thinned(positions: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`thin` of the pixels at flat ``positions`` (ascending) of an image of ``shape``,
    in a frame: the skeleton as 0/1 uint8 with a one-pixel border of zeros (the image's
    outside), and the flat positions of its pixels there, in raster order."""
    h, w = shape
    framed = np.zeros((h + 2, w + 2), np.uint8)
    flat = framed.reshape(-1)
    pixels = positions + 2 * (positions // w) + w + 3  # row y moves down to y + 1, x to x + 1
    flat[pixels] = 1
    around = np.array([dy * (w + 2) + dx for dy, dx in _NEIGHBOURS])
    idle = 0
    # Two sub-iterations in a row that delete nothing end it: the next one would repeat one
    # of them on the same image.
    while idle < 2:
        for keep in _THIN_TABLES:
            # Every code before any deletion: the sub-iteration is parallel.
            kept = keep[_codes(flat[pixels[:, None] + around])].view(bool)
            idle = idle + 1 if kept.all() else 0
            if idle == 0:
                flat[pixels[~kept]] = 0
                pixels = pixels[kept]
            if idle == 2:
                break
    return framed, pixels


#: Multiplier that gathers the low bit of each of a uint64's eight bytes into its top byte:
#: byte k's bit lands on bit 56 + k, and every other product on a bit of its own elsewhere.
_GATHER_BITS = np.uint64(sum(1 << (56 - 7 * k) for k in range(8)))


def _codes(neighbours: np.ndarray) -> np.ndarray:
    """(N, 8) uint8 0/1 neighbours → (N,) neighbourhood codes, bit k = column k.

    The eight bytes of a row read as one little-endian uint64 and multiplied by
    :data:`_GATHER_BITS`: ten times faster than ``np.packbits`` along the rows."""
    words = np.ascontiguousarray(neighbours).view("<u8")[:, 0]
    return (words * _GATHER_BITS) >> np.uint64(56)


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
    pixels = lines.astype(np.uint8)
    # 16-bit labels take a third of the time of 32-bit ones; they suffice while there are
    # fewer line pixels than labels.
    depth = cv2.CV_16U if cv2.countNonZero(pixels) < 2**16 - 1 else cv2.CV_32S
    _, labels, stats, _ = cv2.connectedComponentsWithStats(pixels, connectivity=8, ltype=depth)
    big = stats[:, cv2.CC_STAT_AREA] >= min_pixels
    big[0] = False  # background
    return big[labels]


#: ``(dy, dx)`` of the neighbours after a pixel in raster order: each pair is listed once.
_FORWARD = ((0, 1), (1, 0), (1, 1), (1, -1))


def _pixel_graph(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Line pixels and their m-adjacency ("mixed" adjacency) edges.

    Two pixels are joined when they are 4-neighbours, or diagonal neighbours with no line
    pixel at either of the two corners between them. This is 8-connectivity without the
    shortcut across the corner of a staircase, so a 1-px line is a simple path.

    Returns
    -------
    xs, ys : (N,) int ndarray
        Line pixels in raster order.
    src, dst : (E,) int ndarray
        Edges as pairs of pixel numbers.
    """
    ys, xs = _pixels(lines)
    h, w = lines.shape
    index = np.full((h + 2, w + 2), -1, np.int32)
    index[ys + 1, xs + 1] = np.arange(len(ys))
    src, dst = [], []
    for dy, dx in _FORWARD:
        other = index[ys + 1 + dy, xs + 1 + dx]
        joined = other >= 0
        if dy and dx:
            joined &= (index[ys + 1 + dy, xs + 1] < 0) & (index[ys + 1, xs + 1 + dx] < 0)
        src.append(np.flatnonzero(joined))
        dst.append(other[joined])
    return xs, ys, np.concatenate(src), np.concatenate(dst)


def _pixels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D mask, ten times faster through the flat positions."""
    return np.divmod(np.flatnonzero(mask), mask.shape[1])


def _first_per_group(groups: np.ndarray, count: int) -> np.ndarray:
    """For each group ``0 .. count - 1``, the position of its first member in ``groups``."""
    first = np.full(count, -1)
    present, position = np.unique(groups, return_index=True)
    first[present] = position
    return first


def _strokes(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a 1-px line drawing into strokes, all at once (see :func:`trace_strokes`).

    Returns
    -------
    points : (M, 2) float64 ndarray
        ``(x, y)`` of every stroke's pixels, stroke after stroke, each in path order.
    bounds : (S + 1,) int ndarray
        Stroke ``i`` is ``points[bounds[i]:bounds[i + 1]]``.
    closed : (S,) bool ndarray
        Whether each stroke is a loop.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, depth_first_order

    xs, ys, src, dst = _pixel_graph(lines)
    n = len(xs)
    if n == 0:
        return np.zeros((0, 2)), np.zeros(1, np.int64), np.zeros(0, bool)
    degree = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    branch = (degree[src] < 3) & (degree[dst] < 3)  # edges that touch no junction pixel
    src, dst = src[branch], dst[branch]
    ones = np.ones(len(src), np.int8)
    count, part = connected_components(coo_matrix((ones, (src, dst)), (n, n)), directed=False)
    # Without junctions every part is a path (one edge fewer than pixels), a loop (as many
    # edges as pixels) or a lone junction pixel; a path starts at an end, a loop anywhere.
    loop = np.bincount(part[src], minlength=count) == np.bincount(part, minlength=count)
    branch_degree = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    can_start = (branch_degree < 2) | loop[part]
    candidates = np.flatnonzero(can_start)
    start = candidates[_first_per_group(part[candidates], count)]
    # Open each loop at its start by dropping one of the start's two edges.
    is_start = np.zeros(n, bool)
    is_start[start[loop]] = True
    touching = np.flatnonzero(is_start[src] | is_start[dst])
    owner = np.where(is_start[src[touching]], src[touching], dst[touching])
    kept = np.ones(len(src), bool)
    kept[touching[_first_per_group(part[owner], count)[loop]]] = False
    # A root joined to every start: depth-first order from it lists each stroke in turn,
    # from its start to its end.
    src = np.concatenate([src[kept], np.full(count, n)])
    dst = np.concatenate([dst[kept], start])
    graph = coo_matrix((np.ones(len(src), np.int8), (src, dst)), (n + 1, n + 1)).tocsr()
    order, parent = depth_first_order(graph, n, directed=False, return_predecessors=True)
    order = order[1:]
    first = np.flatnonzero(parent[order] == n)
    bounds = np.append(first, n)
    points = np.stack([xs[order], ys[order]], axis=1).astype(np.float64)
    return points, bounds, loop[part[order[first]]]


def trace_strokes(lines: np.ndarray) -> list[tuple[np.ndarray, bool]]:
    """Split a 1-px line drawing into strokes (pixel paths).

    Pixels are joined by m-adjacency (8-neighbours, but not diagonally across a staircase
    corner, so corner pixels are never skipped). Junction pixels (three or more neighbours)
    cut the drawing into strokes: every piece between junctions and line ends is a stroke,
    a piece without ends is a closed loop, and each junction pixel is a one-point stroke.
    The strokes next to a junction end on the pixel beside it, so they stay joined.

    Parameters
    ----------
    lines : (H, W) bool ndarray
        One-pixel-wide lines, e.g. from :func:`thin`.

    Returns
    -------
    list of ((K, 2) float64 ndarray, bool)
        Each stroke's ``(x, y)`` pixel centres in order, and whether it is a closed loop.
    """
    points, bounds, closed = _strokes(lines)
    return list(zip(np.split(points, bounds[1:-1]), closed.tolist()))


def _smooth_paths(
    points: np.ndarray, bounds: np.ndarray, closed: np.ndarray, *, sigma: float
) -> np.ndarray:
    """``gaussian_filter1d`` along every stroke at once; open strokes keep their end points.

    Each stroke is padded by the kernel radius (its end points repeated, or wrapped around
    for a loop, as SciPy's ``nearest`` and ``wrap`` modes do), the padded strokes are
    filtered as one sequence, and the pads are dropped: no window reaches into a
    neighbouring stroke.
    """
    from scipy.ndimage import correlate1d

    radius = int(4 * sigma + 0.5)  # SciPy's default truncation at 4 sigma
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    lengths = np.diff(bounds)
    padded = lengths + 2 * radius
    stroke = np.repeat(np.arange(len(lengths)), padded)
    step = np.arange(padded.sum()) - np.repeat(np.cumsum(padded) - padded, padded) - radius
    size = lengths[stroke]
    within = np.where(closed[stroke], step % size, np.clip(step, 0, size - 1))
    smooth = correlate1d(points[bounds[stroke] + within], taps / taps.sum(), axis=0)
    smooth = smooth[(step >= 0) & (step < size)]
    ends = np.concatenate([bounds[:-1][~closed], bounds[1:][~closed] - 1])
    smooth[ends] = points[ends]
    return smooth


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
    wrap around) and redrawn as an 8-connected polyline at sub-pixel precision. All strokes
    are filtered as one array and drawn in one OpenCV call per width.

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
    points, bounds, closed = _strokes(lines)
    if len(closed) == 0:
        return out.astype(bool)
    if sigma > 0:
        points = _smooth_paths(points, bounds, closed, sigma=sigma)
    # OpenCV draws nothing for a one-point polyline: give lone points a second copy.
    lengths = np.diff(bounds)
    copies = np.ones(len(points), np.int64)
    copies[bounds[:-1][lengths == 1]] = 2
    fixed = np.repeat(np.rint(points * 16).astype(np.int32), copies, axis=0)  # 4 fraction bits
    ends = np.cumsum(np.maximum(lengths, 2)).tolist()
    starts = [0, *ends[:-1]]
    widths = np.ones(len(lengths), np.int64)
    if width_jitter > 0:
        widths += rng.integers(0, width_jitter + 1, size=len(lengths))
    for loop in (False, True):
        for width in np.unique(widths):
            chosen = np.flatnonzero((closed == loop) & (widths == width)).tolist()
            if chosen:
                group = [fixed[starts[i] : ends[i]] for i in chosen]
                cv2.polylines(
                    out, group, loop, 1, thickness=int(width), lineType=cv2.LINE_8, shift=4
                )
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
    return finish(remove_specks(lines, min_pixels=style.min_pixels), style=style, rng=rng)


def finish(
    lines: np.ndarray, *, style: SketchStyle = SketchStyle(), rng: np.random.Generator | None = None
) -> np.ndarray:
    """Thin lines → the stored sketch: curve smoothing and width jitter of ``style``.

    Parameters
    ----------
    lines : (H, W) bool ndarray
        One-pixel lines (from :func:`clean`'s first steps or :func:`xdog_sketch`).
    style : SketchStyle
    rng : numpy.random.Generator, optional
        For ``style.width_jitter``.

    Returns
    -------
    (H, W) uint8 ndarray
        255 on lines, 0 elsewhere.
    """
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
    if strength.ndim == 2:
        return strength
    # An element-wise maximum of the channel planes: ndarray.max over a short last axis is
    # some 30 times slower, and was most of this function's time.
    return reduce(np.maximum, np.moveaxis(strength, -1, 0))


def noise_level(gray: np.ndarray) -> float:
    """Standard deviation of an image's noise, in grey levels (Immerkær's estimator).

    The image is filtered with the difference of two Laplacians, which cancels smooth
    structure and keeps noise; the mean absolute response scales to sigma.

    Parameters
    ----------
    gray : (H, W) uint8 or float ndarray

    Returns
    -------
    float
        About 0.3 on clean photos, several grey levels on noisy or halftone ones.

    References
    ----------
    J. Immerkær, "Fast Noise Variance Estimation", Computer Vision and Image Understanding
    64(2), 1996.
    """
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = cv2.filter2D(np.asarray(gray, np.float32), -1, kernel)[1:-1, 1:-1]
    return float(np.abs(response).mean() * np.sqrt(np.pi / 2) / 6)


def hysteresis(edge: np.ndarray, *, high: float, low: float) -> np.ndarray:
    """Pixels at or above ``low`` that are 8-connected to one at or above ``high`` (Canny).

    Parameters
    ----------
    edge : (H, W) float ndarray
    high, low : float

    Returns
    -------
    (H, W) bool ndarray

    Examples
    --------
    >>> hysteresis(np.array([[0.9, 0.5, 0.0, 0.5]]), high=0.8, low=0.4)
    array([[ True,  True, False, False]])
    """
    labels, seeded, _ = _seeded_components(edge, high=high, low=low)
    return seeded[labels]


def _seeded_components(
    edge: np.ndarray, *, high: float, low: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components at or above ``low`` (label 0: below it), per label whether
    the component holds a pixel at or above ``high``, and the flat positions of the pixels
    at or above ``low`` (a few percent of the image: the rest is looked at once)."""
    weak = edge >= low
    where = np.flatnonzero(weak)
    # 16-bit labels are faster and suffice while there are fewer weak pixels than labels.
    depth = cv2.CV_16U if len(where) < 2**16 - 1 else cv2.CV_32S
    count, labels = cv2.connectedComponents(weak.view(np.uint8), connectivity=8, ltype=depth)
    seeded = np.zeros(count, bool)
    seeded[labels.reshape(-1)[where[edge.reshape(-1)[where] >= high]]] = True
    seeded[0] = False  # below low
    return labels, seeded, where


def dark_edges(
    image: np.ndarray, *, sigma: float, k: float = 1.6, half: bool = False
) -> np.ndarray:
    """The dark side of edges and dark lines: ``max(G_{k sigma} * I - G_sigma * I, 0)``.

    XDoG's difference of Gaussians with ``gamma = 1`` and no soft threshold, so its
    strength can be thresholded relative to the image (a ``gamma`` under 1 sets every flat
    area below zero and erases the faint edges of a blurred photo). A colour image takes the
    maximum over its channels.

    Parameters
    ----------
    image : (H, W, 3) or (H, W) uint8 ndarray
    sigma, k : float
        Inner Gaussian sigma (pixels) and the ratio of the outer one.
    half : bool
        Blur the image halved by ``cv2.pyrDown`` and bring the difference back with
        ``cv2.pyrUp``: about eight times cheaper, for ``sigma`` over sqrt(2) (each pyramid
        step blurs by a variance of 1 px², which the Gaussians leave out). Pixel centres stay
        in place, and a difference this wide holds little the half grid misses: on a 512 px
        photo at sigma 2.8 it is off by 0.1% of the strongest line on average, 1-3% at the
        99th percentile, most near the border.

    Returns
    -------
    (H, W) float32 ndarray
        0 on flat areas and bright sides, up to about 0.5 on strong dark lines.

    Examples
    --------
    >>> step = np.repeat(np.array([[200] * 8 + [40] * 8], np.uint8), 4, axis=0)
    >>> (dark_edges(step, sigma=1.0)[0] > 0.01).nonzero()[0]
    array([ 8,  9, 10])
    """
    if half and sigma * sigma <= 2.0:
        raise ValueError(f"dark_edges with half=True needs sigma > sqrt(2), got {sigma}")
    return _dark_edges(_unit(image), sigma=sigma, k=k, half=half)


def _unit(image: np.ndarray) -> np.ndarray:
    """uint8 image → float32 in [0, 1], as ``image.astype(np.float32) / 255``."""
    # One pass and one array: the float copy and the quotient as two 3 MB temporaries made
    # the allocator hand pages back and fault them in again, twenty times slower.
    return np.divide(image, 255.0, dtype=np.float32)


def _dark_edges(channels: np.ndarray, *, sigma: float, k: float, half: bool) -> np.ndarray:
    """:func:`dark_edges` of an image already in [0, 1] (converted once for every scale)."""
    inner, outer = sigma, k * sigma
    if half:
        h, w = channels.shape[:2]
        channels = cv2.pyrDown(channels)
        inner, outer = (np.sqrt(s * s - 2.0) / 2 for s in (inner, outer))
    d = cv2.GaussianBlur(channels, (0, 0), outer)
    d -= cv2.GaussianBlur(channels, (0, 0), inner)
    if d.ndim == 3:
        d = reduce(np.maximum, np.moveaxis(d, -1, 0))
    if half:
        d = cv2.pyrUp(d, dstsize=(w, h))
    return np.maximum(d, 0.0, out=d)


def xdog_sketch(
    image: np.ndarray, *, enlargement: float = 1.0, style: SketchStyle = SketchStyle()
) -> np.ndarray:
    """One-pixel XDoG lines that adapt to the face's scale and the photo's sharpness and noise.

    1. Pre-blur: by ``0.5 (enlargement - 1)`` (a face enlarged e times holds no detail finer
       than e pixels; this also melts JPEG blocks) or, on a noisy or screened print, by 0.6 x
       its noise level (:func:`noise_level`) above 2 grey levels (at most 2 px: a screen is
       a few pixels fine), whichever is more.
    2. Scale: ``style.xdog_sigma`` at 512 px, scaled with the image side and by
       ``0.35 x enlargement`` when that is more than 1; doubled, then doubled again, while
       the lines stay under the lower share of ``style.xdog_lines`` (a blurred photo has its
       edges only at the coarser scales). A doubled scale of 2 px or more takes its
       :func:`dark_edges` on the half-size image (``half=True``).
    3. Lines: :func:`dark_edges`, :func:`nms`, :func:`hysteresis` (low = high / 2), thinning,
       fragments under ``style.xdog_fragment`` pixels erased. The high threshold is
       :data:`XDOG_THRESHOLD` clamped so that 2-8% of pixels are seeds, then moved down by
       0.6 or up by 1.6 (four times at most) until the share of line pixels lies within
       ``style.xdog_lines``.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image.
    enlargement : float
        How many times the face was enlarged to this size (``align.enlargement``; 1 when it
        was not).
    style : SketchStyle

    Returns
    -------
    (H, W) bool ndarray
        One-pixel lines, for :func:`finish`.

    References
    ----------
    H. Winnemöller, J. E. Kyprianidis, S. C. Olsen, "XDoG: an eXtended difference-of-Gaussians
    compendium including advanced image stylization", Computers & Graphics 36(6), 2012;
    J. Canny, "A Computational Approach to Edge Detection", IEEE TPAMI 8(6), 1986.
    """
    image, base = _xdog_input(image, enlargement=enlargement, style=style)
    fewest, most = style.xdog_lines
    channels = _unit(image)
    lines, edge, high = np.zeros(image.shape[:2], bool), None, XDOG_THRESHOLD
    for sigma in (base, 2 * base, 4 * base):
        # The coarser scales on the half-size image: their blurs were most of the time.
        dark = _dark_edges(channels, sigma=sigma, k=1.6, half=sigma > base and sigma >= 2)
        candidate = nms(dark, sigma=style.nms_sigma or 2.0)
        strengths = np.sort(candidate[candidate > 0])[::-1]
        if len(strengths) == 0:
            continue
        seeds = [strengths[min(int(q * candidate.size), len(strengths) - 1)] for q in (0.08, 0.02)]
        edge, high = candidate, float(min(max(XDOG_THRESHOLD, seeds[0]), max(seeds[1], 0.002)))
        lines = _xdog_lines(edge, high, style.xdog_fragment)
        if _share(lines) >= fewest:
            break
    for _ in range(4 if edge is not None else 0):
        share = _share(lines)
        if fewest <= share <= most:
            break
        high *= 0.6 if share < fewest else 1.6
        lines = _xdog_lines(edge, high, style.xdog_fragment)
    return lines


def _share(lines: np.ndarray) -> float:
    """``lines.mean()``, the same float, from a count: a bool mean converts every pixel."""
    return np.count_nonzero(lines) / lines.size


def _xdog_input(
    image: np.ndarray, *, enlargement: float, style: SketchStyle
) -> tuple[np.ndarray, float]:
    """Steps 1 and 2 of :func:`xdog_sketch`: the pre-blurred image and the first scale."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    # A screen or grain is a few pixels fine: 2 px of blur removes it, more erases the face.
    pre_sigma = max(0.5 * (enlargement - 1.0), min(0.6 * (noise_level(gray) - 2.0), 2.0))
    if pre_sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), pre_sigma)
    return image, style.xdog_sigma * min(image.shape[:2]) / 512 * max(1.0, 0.35 * enlargement)


def _xdog_lines(edge: np.ndarray, high: float, fragment: int) -> np.ndarray:
    """``remove_specks(thin(hysteresis(edge, high=high, low=high / 2)), min_pixels=fragment)``.

    Thinning neither joins, splits nor erases 8-connected components, so the hysteresis
    labels still name the thinned components: their sizes need no second labelling.
    """
    labels, seeded, weak = _seeded_components(edge, high=high, low=high / 2)
    flat_labels = labels.reshape(-1)
    framed, pixels = _thinned(weak[seeded[flat_labels[weak]]], labels.shape)
    ys, xs = np.divmod(pixels, framed.shape[1])
    owner = labels[ys - 1, xs - 1]
    short = np.bincount(owner, minlength=len(seeded))[owner] < fragment
    framed.reshape(-1)[pixels[short]] = 0
    return framed[1:-1, 1:-1].astype(bool)
