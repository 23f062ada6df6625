"""Simulated label-map edits: a non-learned stand-in for MaskGAN's editing simulation.

MaskGAN's "editing behavior simulated training" feeds its generator a label map edited
towards another sample's label map, produced by a learned mask VAE that interpolates in a
latent space. This module interpolates signed distance fields instead, class by class, and
rebuilds a label map from them with the official overwrite order; it adds the simple edits
users make by hand: growing or thinning hair, moving and scaling eyes, brows and mouth,
opening and closing the mouth.

All functions take and return ``(H, W)`` uint8 label maps with official CelebAMask-HQ ids
0-18 and never create another id.

References
----------
Lee et al., "MaskGAN: Towards Diverse and Interactive Facial Image Manipulation", CVPR 2020.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError
from ..labels import CLASSES, LABEL
from ..options import option

#: Parts :func:`move_part` moves, by name, with the classes each one carries along.
PARTS: dict[str, tuple[int, ...]] = {
    "l_eye": (LABEL["l_eye"],),
    "r_eye": (LABEL["r_eye"],),
    "l_brow": (LABEL["l_brow"],),
    "r_brow": (LABEL["r_brow"],),
    "mouth": (LABEL["mouth"], LABEL["u_lip"], LABEL["l_lip"]),
}

#: Compact parts that :func:`interpolate_labels` slides between their two positions. Large
#: regions (background, skin, hair, hat, neck, cloth) overlap between faces and blend in
#: place: sliding a whole hair region would drag it over the face.
SLIDING: frozenset[int] = frozenset(
    LABEL[n]
    for n in ("nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
              "mouth", "u_lip", "l_lip", "ear_r", "neck_l")
)  # fmt: skip

HAIR = LABEL["hair"]
MOUTH, U_LIP, L_LIP = LABEL["mouth"], LABEL["u_lip"], LABEL["l_lip"]


def _check(labels: np.ndarray, name: str = "labels") -> None:
    if labels.ndim != 2 or labels.dtype != np.uint8:
        raise ValueError(
            f"{name} must be an (H, W) uint8 label map, got {labels.dtype} {labels.shape}"
        )
    if labels.size and labels.max() >= len(CLASSES):
        raise ValueError(f"{name} holds id {labels.max()}; official ids are 0-{len(CLASSES) - 1}")


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Signed distance to a region's boundary: positive inside, negative outside.

    Parameters
    ----------
    mask : (H, W) bool ndarray

    Returns
    -------
    (H, W) float32 ndarray
        Inside pixels hold their distance to the nearest outside pixel (>= 1), outside
        pixels minus their distance to the nearest inside pixel (<= -1), so ``> 0`` gives
        back ``mask`` exactly. An empty region is ``-(H + W)`` everywhere (farther than
        any pixel can be), a full one ``H + W``.

    Notes
    -----
    Distances use OpenCV's 5x5 chamfer mask: within about 2 % of the Euclidean distance and
    several times faster; the sign, which alone decides factors 0 and 1, is exact.
    """
    inside = mask.astype(np.uint8)
    if not inside.any() or inside.all():
        far = float(sum(mask.shape))
        return np.full(mask.shape, far if inside.any() else -far, np.float32)
    # Each transform runs on the box around its zero-distance side plus a one-pixel ring:
    # the nearest pixel of the other side always lies in that ring or inside the box (the
    # chamfer distance grows with |dx| and |dy|), so the values are those of the full image.
    sdf = np.zeros(mask.shape, np.float32)
    rows, cols = _box(inside, 1)
    sdf[rows, cols] = cv2.distanceTransform(inside[rows, cols], cv2.DIST_L2, cv2.DIST_MASK_5)
    outside = 1 - inside
    rows, cols = _box(outside, 1)
    sdf[rows, cols] -= cv2.distanceTransform(outside[rows, cols], cv2.DIST_L2, cv2.DIST_MASK_5)
    return sdf


Window = tuple[slice, slice]


def _box(mask: np.ndarray, grow: int = 0) -> Window:
    """Rows and columns of the bounding box of a non-empty mask, grown, inside the image."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    height, width = mask.shape
    return (
        slice(max(y - grow, 0), min(y + h + grow, height)),
        slice(max(x - grow, 0), min(x + w + grow, width)),
    )


def _rebuild(
    fields: list[tuple[int, Window, np.ndarray]], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A label map from one signed field per class, with the official overwrite order.

    Every pixel starts as the class whose field is largest (so no pixel is left without a
    class where two boundaries move apart); then classes are written in label order, skin
    first and cloth last, where their field is positive, a later class overwriting an
    earlier one as when CelebAMask-HQ's part files are merged.

    Parameters
    ----------
    fields : list of (label, window, (h, w) float32 ndarray)
        In increasing label order; a field is given over a window of the image and is
        taken as ``-inf`` outside it. Classes without a field are never chosen.
    shape : (H, W)

    Returns
    -------
    labels : (H, W) uint8 ndarray
    best : (H, W) float32 ndarray
        The largest field at each pixel.
    claimed : (H, W) bool ndarray
        Where some field is positive.
    """
    # A running maximum, class by class (">" keeps the first of equal maxima, as argmax
    # does); np.argmax over the first axis of a (19, H, W) stack took several times longer.
    best = np.full(shape, -np.inf, np.float32)
    labels = np.zeros(shape, np.uint8)
    for label, window, field in fields:
        higher = field > best[window]
        np.copyto(best[window], field, where=higher)
        labels[window][higher] = label
    claimed = np.zeros(shape, bool)
    for label, window, field in fields:
        inside = field > 0
        labels[window][inside] = label
        claimed[window] |= inside
    return labels, best, claimed


def interpolate_labels(labels: np.ndarray, reference: np.ndarray, *, factor: float) -> np.ndarray:
    """Morph a label map towards another one through per-class signed distance fields.

    A class's field is ``(1 - factor) * sdf(labels == c) + factor * sdf(reference == c)``.
    For the compact parts of :data:`SLIDING` present in both maps, both regions are first
    moved so that their centroids meet at ``(1 - factor) * c_labels + factor *
    c_reference``: two faces' brows or lips rarely overlap, and a plain average of their
    fields would be negative everywhere between them, erasing the part instead of sliding
    it. Large regions are interpolated as if the parts cut no holes in them (see
    :func:`_under_parts`). A class that only one map has gets the constant field
    ``-max(sdf)`` in the other, so it shrinks to its innermost point at factor 0.5 and is
    gone beyond. The label map is rebuilt from the fields with the official overwrite order
    (:func:`_rebuild`). Factor 0 gives ``labels`` and factor 1 ``reference``; in between,
    parts slide and change shape from one map to the other.

    Parameters
    ----------
    labels, reference : (H, W) uint8 ndarray
        Label maps with official ids 0-18, same shape.
    factor : float
        In ``[0, 1]``: 0 keeps ``labels``, 1 gives ``reference``.

    Returns
    -------
    (H, W) uint8 ndarray

    Raises
    ------
    ValueError
        For maps of different shapes, ids outside 0-18, or a factor outside ``[0, 1]``.
    """
    _check(labels)
    _check(reference, "reference")
    if labels.shape != reference.shape:
        raise ValueError(f"label maps differ in shape: {labels.shape} vs {reference.shape}")
    if not 0.0 <= factor <= 1.0:
        raise ValueError(f"factor must lie in [0, 1], got {factor}")
    base_a, base_b = _under_parts(labels), _under_parts(reference)
    margin = max(8, max(labels.shape) // 16)
    fields = _fields(labels, reference, base_a, base_b, factor=factor, margin=margin)
    out, best, claimed = _rebuild(fields, labels.shape)
    # A sliding part's field is only computed within `margin` of its two positions; beyond,
    # it is at most -margin. It could only have been the largest field, and so decided the
    # pixel, where no field is positive and all the computed ones are that low: then redo.
    if (best[~claimed] <= -margin).any():
        fields = _fields(labels, reference, base_a, base_b, factor=factor, margin=None)
        out, _, _ = _rebuild(fields, labels.shape)
    return out


def _fields(
    labels: np.ndarray,
    reference: np.ndarray,
    base_a: np.ndarray,
    base_b: np.ndarray,
    *,
    factor: float,
    margin: int | None,
) -> list[tuple[int, Window, np.ndarray]]:
    """Per class present in either map: (label, window, interpolated field over the window)."""
    shape = labels.shape
    whole = (slice(0, shape[0]), slice(0, shape[1]))
    count = len(CLASSES)
    in_a = np.bincount(labels.ravel(), minlength=count) > 0
    in_b = np.bincount(reference.ravel(), minlength=count) > 0
    base_in_a = np.bincount(base_a.ravel(), minlength=count) > 0
    base_in_b = np.bincount(base_b.ravel(), minlength=count) > 0
    fields = []
    for label in range(count):
        if label in SLIDING:
            has_a, has_b = in_a[label], in_b[label]
            a, b = (labels == label) if has_a else None, (reference == label) if has_b else None
        else:
            has_a, has_b = base_in_a[label], base_in_b[label]
            a, b = (base_a == label) if has_a else None, (base_b == label) if has_b else None
        if not (has_a or has_b):
            continue  # never a class the inputs lack, not even in a seam
        if has_a and has_b and label in SLIDING:
            fields.append((label, *_slide(a, b, factor=factor, margin=margin)))
            continue
        if has_a and has_b:
            sdf_a, sdf_b = signed_distance(a), signed_distance(b)
        elif has_a:
            sdf_a = signed_distance(a)
            sdf_b = -sdf_a.max()
        else:
            sdf_b = signed_distance(b)
            sdf_a = -sdf_b.max()
        fields.append((label, whole, (1 - factor) * sdf_a + factor * sdf_b))
    return fields


def _slide(
    a: np.ndarray, b: np.ndarray, *, factor: float, margin: int | None
) -> tuple[Window, np.ndarray]:
    """The field of a part in both maps, both moved so that their centroids meet.

    With a ``margin``, the field is computed over the window holding the two moved
    regions and ``margin`` pixels around them (everywhere without).
    """
    box_a, box_b = _box(a), _box(b)
    ca, cb = _centroid(a, box_a), _centroid(b, box_b)
    target = (1 - factor) * ca + factor * cb
    shape = a.shape
    window = (slice(0, shape[0]), slice(0, shape[1]))
    if margin is not None:
        moved = ((box_a, target - ca), (box_b, target - cb))  # offsets are (dx, dy)
        window = tuple(
            slice(
                max(int(np.floor(min(box[k].start + d[1 - k] for box, d in moved))) - margin, 0),
                min(int(np.ceil(max(box[k].stop + d[1 - k] for box, d in moved))) + margin, n),
            )
            for k, n in enumerate(shape)
        )
    field = (1 - factor) * _moved_sdf(a, target - ca, window)
    return window, field + factor * _moved_sdf(b, target - cb, window)


def _centroid(mask: np.ndarray, box: Window) -> np.ndarray:
    ys, xs = np.nonzero(mask[box])
    return np.array([(xs + box[1].start).mean(), (ys + box[0].start).mean()])


def _moved_sdf(mask: np.ndarray, offset: np.ndarray, window: Window) -> np.ndarray:
    """The signed distance of ``mask`` translated by ``(dx, dy)`` (bilinear), over a window.

    The distance is computed on the source pixels the window samples and one more on each
    side (the window holds the moved region with a margin, so these hold the region with
    it); edges extend outwards as in a translation of the whole image.
    """
    (rows, cols), (height, width) = window, mask.shape
    source = (
        slice(max(int(np.floor(rows.start - offset[1])) - 1, 0),
              min(int(np.ceil(rows.stop - offset[1])) + 1, height)),
        slice(max(int(np.floor(cols.start - offset[0])) - 1, 0),
              min(int(np.ceil(cols.stop - offset[0])) + 1, width)),
    )  # fmt: skip
    sdf = signed_distance(mask[source])
    if not offset.any():
        top, left = rows.start - source[0].start, cols.start - source[1].start
        return sdf[top : top + rows.stop - rows.start, left : left + cols.stop - cols.start]
    shift_x = offset[0] + source[1].start - cols.start
    shift_y = offset[1] + source[0].start - rows.start
    matrix = np.array([[1.0, 0.0, shift_x], [0.0, 1.0, shift_y]])
    return cv2.warpAffine(
        sdf,
        matrix,
        (cols.stop - cols.start, rows.stop - rows.start),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _under_parts(labels: np.ndarray) -> np.ndarray:
    """The map with each sliding part replaced by the nearest background or skin.

    Large regions are interpolated without the holes the parts cut into them: a part slides
    away from where it was, and a hole left behind would be claimed by no class.
    Background and skin are the classes every part overwrites, so the part still wins at
    factor 0 and 1.
    """
    parts = np.isin(labels, list(SLIDING))
    return fill_from_neighbours(labels, parts, sources=labels <= LABEL["skin"])


def fill_from_neighbours(
    labels: np.ndarray, holes: np.ndarray, *, sources: np.ndarray | None = None
) -> np.ndarray:
    """Give every hole pixel the label of the nearest source pixel.

    Removing a part this way lets the classes around it (skin around an eye, background
    around hair) close over it.

    Parameters
    ----------
    labels : (H, W) uint8 ndarray
    holes : (H, W) bool ndarray
        Pixels to relabel.
    sources : (H, W) bool ndarray, optional
        Pixels whose labels may be copied; by default every pixel outside the holes.

    Returns
    -------
    (H, W) uint8 ndarray
        A copy; unchanged when there is no hole, background in the holes when there is no
        source pixel.

    Notes
    -----
    "Nearest" is measured with OpenCV's 5x5 chamfer distance, as in
    :func:`signed_distance`: where two sources of different labels are almost equally far
    (within about 2 %), either may be picked. An exact Euclidean feature transform costs
    some 20 times more.
    """
    out = labels.copy()
    sources = ~holes if sources is None else sources
    if not holes.any():
        return out
    if not sources.any():
        out[holes] = 0
        return out
    # Every source pixel gets its own id; every other pixel the id of its nearest source.
    _, nearest = cv2.distanceTransformWithLabels(
        (~sources).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5, labelType=cv2.DIST_LABEL_PIXEL
    )
    label_of = np.zeros(int(nearest.max()) + 1, np.uint8)
    label_of[nearest[sources]] = labels[sources]
    out[holes] = label_of[nearest[holes]]
    return out


def _paste(labels: np.ndarray, moved: np.ndarray, classes: tuple[int, ...]) -> None:
    """Write ``moved``'s classes onto ``labels`` in place, under later classes (hair stays)."""
    for label in sorted(classes):
        where = (moved == label) & (labels < label)
        labels[where] = label


def move_part(
    labels: np.ndarray,
    classes: tuple[int, ...],
    *,
    shift: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
) -> np.ndarray:
    """Move and scale a part (e.g. an eye, or the mouth with its lips) about its centroid.

    The part is removed (its pixels take the nearest surrounding labels), transformed with
    nearest-neighbour sampling, and written back in label order where the pixel's current
    label comes earlier in the overwrite order, so a moved eye covers skin but stays under
    hair, as in CelebAMask-HQ's merge.

    Parameters
    ----------
    labels : (H, W) uint8 ndarray
    classes : tuple of int
        Label ids of the part.
    shift : (float, float)
        ``(dx, dy)`` in pixels.
    scale : float
        Size factor (> 0) about the part's centroid.

    Returns
    -------
    (H, W) uint8 ndarray
        A copy; unchanged when the part is absent.
    """
    _check(labels)
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    part = np.isin(labels, classes)
    if not part.any():
        return labels.copy()
    ys, xs = np.nonzero(part)
    cx, cy = xs.mean(), ys.mean()
    matrix = np.array(
        [[scale, 0.0, cx - scale * cx + shift[0]], [0.0, scale, cy - scale * cy + shift[1]]]
    )
    h, w = labels.shape
    moved = cv2.warpAffine(
        np.where(part, labels, 0).astype(np.uint8),
        matrix,
        (w, h),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    out = fill_from_neighbours(labels, part)
    _paste(out, moved, classes)
    return out


def grow_hair(labels: np.ndarray, *, pixels: int) -> np.ndarray:
    """Dilate (``pixels > 0``) or erode (``pixels < 0``) the hair region.

    Grown hair takes background pixels only, so the face, neck and clothes keep their
    shape; thinned-out hair gives its pixels to the nearest non-hair labels (background
    outside, skin under a fringe).

    Parameters
    ----------
    labels : (H, W) uint8 ndarray
    pixels : int
        Radius of the elliptic structuring element; the sign picks dilation or erosion.

    Returns
    -------
    (H, W) uint8 ndarray
    """
    _check(labels)
    hair = labels == HAIR
    out = labels.copy()
    if pixels == 0 or not hair.any():
        return out
    r = abs(int(pixels))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    if pixels > 0:
        grown = cv2.dilate(hair.astype(np.uint8), kernel).astype(bool)
        out[grown & (labels == 0)] = HAIR
        return out
    kept = cv2.erode(hair.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    filled = fill_from_neighbours(labels, hair)
    out[hair & ~kept] = filled[hair & ~kept]
    return out


def _translate(mask: np.ndarray, dy: int) -> np.ndarray:
    out = np.zeros_like(mask)
    if dy >= 0:
        out[dy:] = mask[: mask.shape[0] - dy]
    else:
        out[:dy] = mask[-dy:]
    return out


def _lip_edges(upper: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the upper lip's lowest row (-1 if none) and the lower lip's top (H if none)."""
    rows = np.arange(upper.shape[0])[:, None]
    return np.where(upper, rows, -1).max(axis=0), np.where(lower, rows, upper.shape[0]).min(axis=0)


def lip_gap(labels: np.ndarray) -> int:
    """The widest gap between the lips in pixels: 0 for a closed mouth or without both lips.

    Parameters
    ----------
    labels : (H, W) uint8 ndarray

    Returns
    -------
    int
        Over the columns holding both lips, the largest number of rows between the upper
        lip's lowest pixel and the lower lip's highest one.
    """
    upper, lower = labels == U_LIP, labels == L_LIP
    both = upper.any(axis=0) & lower.any(axis=0)
    if not both.any():
        return 0
    bottom, top = _lip_edges(upper, lower)
    return int(max(0, (top - bottom - 1)[both].max()))


def open_mouth(labels: np.ndarray, *, pixels: int) -> np.ndarray:
    """Open (``pixels > 0``) or close (``pixels < 0``) the mouth.

    The upper lip moves up by ``pixels // 2`` and the lower lip down by the rest (towards
    each other when closing); in every column holding both lips, the gap between them
    becomes inner mouth. Closing stops when the lips meet: it is limited to
    :func:`lip_gap`, so a closed mouth stays as it is. Uncovered pixels take the nearest
    surrounding labels.

    Parameters
    ----------
    labels : (H, W) uint8 ndarray
    pixels : int
        Change of the lip gap in pixels.

    Returns
    -------
    (H, W) uint8 ndarray
        A copy; unchanged without both lips.
    """
    _check(labels)
    upper, lower = labels == U_LIP, labels == L_LIP
    pixels = max(int(pixels), -lip_gap(labels))
    if pixels == 0 or not (upper.any() and lower.any()):
        return labels.copy()
    up = pixels // 2
    upper, lower = _translate(upper, -up), _translate(lower, pixels - up)
    bottom, top = _lip_edges(upper, lower)
    rows = np.arange(labels.shape[0])[:, None]
    both = upper.any(axis=0) & lower.any(axis=0)
    moved = np.zeros_like(labels)
    moved[both & (rows > bottom) & (rows < top)] = MOUTH
    moved[upper] = U_LIP
    moved[lower] = L_LIP
    out = fill_from_neighbours(labels, np.isin(labels, PARTS["mouth"]))
    _paste(out, moved, PARTS["mouth"])
    return out


@dataclass(frozen=True)
class EditConfig:
    """How edits are drawn; pixel amounts are at 512² and scale with the image side.

    Attributes
    ----------
    factor : (float, float)
        Range of the interpolation factor towards the reference label map.
    probability : float
        Chance of each simple edit: the hair edit, each part's move, the mouth edit.
    hair : int
        Largest hair dilation/erosion radius in pixels.
    shift : int
        Largest move of a part along each axis, in pixels.
    scale : float
        Parts are scaled by a factor in ``[1 - scale, 1 + scale]``.
    mouth : int
        Largest change of the lip gap in pixels.
    """

    factor: tuple[float, float] = option((0.25, 0.75), flag="--edit-factor")
    probability: float = 0.5
    hair: int = 12
    shift: int = 8
    scale: float = 0.15
    mouth: int = 10

    def __post_init__(self) -> None:
        lo, hi = self.factor
        if not 0.0 <= lo <= hi <= 1.0:
            raise ConfigError(f"edit factor range needs 0 <= MIN <= MAX <= 1, got {self.factor}")
        if not 0.0 <= self.probability <= 1.0:
            raise ConfigError(f"edit probability must lie in [0, 1], got {self.probability}")
        if not 0.0 <= self.scale < 1.0:
            raise ConfigError(f"edit scale must lie in [0, 1), got {self.scale}")
        if min(self.hair, self.shift, self.mouth) < 0:
            raise ConfigError("edit pixel amounts (hair, shift, mouth) must not be negative")


def _signed(rng: np.random.Generator, largest: int) -> int:
    """A non-zero integer in ``[-largest, largest]`` (0 when ``largest`` is 0)."""
    if largest < 1:
        return 0
    return int(rng.integers(1, largest + 1)) * (1 if rng.random() < 0.5 else -1)


def random_edit(
    labels: np.ndarray,
    reference: np.ndarray | None,
    rng: np.random.Generator,
    config: EditConfig = EditConfig(),
) -> tuple[np.ndarray, dict]:
    """Draw and apply one edit: interpolation towards ``reference``, then simple edits.

    Parameters
    ----------
    labels : (H, W) uint8 ndarray
        The sample's label map.
    reference : (H, W) uint8 ndarray or None
        Another sample's label map; ``None`` skips the interpolation (factor 0).
    rng : numpy.random.Generator
        Source of every draw, e.g. ``sample_rng(seed, key, "edit", 0)``.
    config : EditConfig

    Returns
    -------
    edited : (H, W) uint8 ndarray
    description : dict
        ``{"factor": float, "operations": [...]}``; each operation names itself
        (``{"op": "hair", "pixels": -7}``, ``{"op": "move", "part": "l_eye",
        "shift": [dx, dy], "scale": s}``, ``{"op": "mouth", "pixels": 6}``), in the order
        applied. Parts absent from the map are not edited and not listed.
    """
    _check(labels)
    k = labels.shape[0] / 512
    factor = 0.0
    if reference is not None:
        factor = round(float(rng.uniform(*config.factor)), 4)
    edited = interpolate_labels(labels, reference, factor=factor) if factor else labels.copy()
    operations: list[dict] = []
    if rng.random() < config.probability:
        pixels = _signed(rng, round(config.hair * k))
        if pixels and (edited == HAIR).any():
            edited = grow_hair(edited, pixels=pixels)
            operations.append({"op": "hair", "pixels": pixels})
    for part, classes in PARTS.items():
        if rng.random() >= config.probability:
            continue
        largest = round(config.shift * k)
        shift = [int(rng.integers(-largest, largest + 1)) for _ in range(2)]
        scale = round(float(rng.uniform(1 - config.scale, 1 + config.scale)), 4)
        if np.isin(edited, classes).any():
            edited = move_part(edited, classes, shift=tuple(shift), scale=scale)
            operations.append({"op": "move", "part": part, "shift": shift, "scale": scale})
    if rng.random() < config.probability:
        pixels = max(_signed(rng, round(config.mouth * k)), -lip_gap(edited))
        if pixels and (edited == U_LIP).any() and (edited == L_LIP).any():
            edited = open_mouth(edited, pixels=pixels)
            operations.append({"op": "mouth", "pixels": pixels})
    return edited, {"factor": factor, "operations": operations}
