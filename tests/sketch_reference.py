"""The straightforward sketch clean-up that :mod:`facedata.features.sketch` replaced.

Kept as the reference the fast route is checked and timed against (tests/test_sketch.py,
benchmarks/sketch.py): trigonometry for the NMS direction, ``skimage.morphology.thin``, a
per-pixel Python walk to split lines into strokes, and one ``gaussian_filter1d`` and one
``cv2.polylines`` call per stroke. :func:`xdog_sketch` is the adaptive XDoG written out
step by step (the half-angle NMS direction, every retry labelled twice and converted anew),
which the fast route must match pixel for pixel.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from skimage.morphology import thin

from facedata.features.sketch import (
    XDOG_THRESHOLD,
    SketchStyle,
    _xdog_input,
    remove_specks,
)
from facedata.features.sketch import thin as fast_thin

_OFFSETS = ((0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))


def xdog_edges(image, *, sigma=0.8, k=1.6, gamma=0.98, phi=200.0, epsilon=-0.1):
    """XDoG line strength, formula as written: all three channels through tanh."""
    channels = image.astype(np.float32) / 255.0
    d = cv2.GaussianBlur(channels, (0, 0), sigma) - gamma * cv2.GaussianBlur(
        channels, (0, 0), k * sigma
    )
    t = np.where(d < epsilon, 1.0, 1.0 + np.tanh(phi * d))
    strength = np.clip(1.0 - t, 0.0, 1.0).astype(np.float32)
    return strength.max(axis=2) if strength.ndim == 3 else strength


def nms(edge, *, sigma=2.0, multiplier=1.01):
    """NMS with the direction from ``arctan2``, ``cos`` and ``sin``."""
    edge = np.asarray(edge, np.float32)
    smooth = cv2.GaussianBlur(edge, (0, 0), sigma) if sigma > 0 else edge
    gy, gx = np.gradient(smooth)
    hyy, hyx = np.gradient(gy)
    hxy, hxx = np.gradient(gx)
    normal = 0.5 * np.arctan2(hxy + hyx, hxx - hyy) + np.where(hxx + hyy > 0, 0.0, np.pi / 2)
    dx, dy = np.cos(normal).astype(np.float32), np.sin(normal).astype(np.float32)
    return _suppress(edge, dx, dy, multiplier)


def _suppress(edge, dx, dy, multiplier):
    """Keep ``edge`` where it is at least both neighbours one step along ``(dx, dy)``."""
    ys, xs = np.mgrid[: edge.shape[0], : edge.shape[1]].astype(np.float32)
    keep = np.ones(edge.shape, bool)
    for sign in (-1.0, 1.0):
        near = cv2.remap(
            edge, xs + sign * dx, ys + sign * dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        keep &= edge * multiplier >= near
    return np.where(keep, edge, 0).astype(np.float32)


def trace_strokes(lines):
    """Walks from line ends, then from anything left, preferring 4-neighbours."""
    ys, xs = np.nonzero(lines)
    h, w = lines.shape
    index = np.full((h + 2, w + 2), -1, np.int64)
    index[ys + 1, xs + 1] = np.arange(len(ys))
    neighbours = np.stack([index[ys + 1 + dy, xs + 1 + dx] for dy, dx in _OFFSETS], axis=1)
    nbrs = [[j for j in row if j >= 0] for row in neighbours.tolist()]
    visited = [False] * len(ys)
    strokes = []

    def walk(start):
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


def smooth_strokes(lines, *, sigma):
    """Smooth and redraw one stroke at a time (width 1)."""
    out = np.zeros(lines.shape, np.uint8)
    for points, closed in trace_strokes(lines):
        if sigma > 0 and len(points) > 2:
            smooth = gaussian_filter1d(points, sigma, axis=0, mode="wrap" if closed else "nearest")
            if not closed:
                smooth[[0, -1]] = points[[0, -1]]
            points = smooth
        if len(points) == 1:
            points = np.repeat(points, 2, axis=0)
        fixed = np.rint(points * 16).astype(np.int32)[None]
        cv2.polylines(out, fixed, closed, 1, thickness=1, lineType=cv2.LINE_8, shift=4)
    return out.astype(bool)


def clean(edge, *, style=SketchStyle()):
    """The clean-up chain of :func:`facedata.features.sketch.clean` (no width jitter)."""
    edge = np.asarray(edge, np.float32)
    if style.nms_sigma is not None:
        edge = nms(edge, sigma=style.nms_sigma)
    lines = edge >= style.threshold
    if style.thin:
        lines = thin(lines)
    lines = remove_specks(lines, min_pixels=style.min_pixels)
    if style.smooth_sigma > 0:
        lines = smooth_strokes(lines, sigma=style.smooth_sigma)
    return lines.astype(np.uint8) * np.uint8(255)


def nms_half_angle(edge, *, sigma=2.0, multiplier=1.01):
    """NMS with the direction from the half-angle formulas, as first written."""
    edge = np.asarray(edge, np.float32)
    smooth = cv2.GaussianBlur(edge, (0, 0), sigma)
    gy, gx = np.gradient(smooth)
    hyy, hyx = np.gradient(gy)
    hxy, hxx = np.gradient(gx)
    u, hxy2 = hxx - hyy, hxy + hyx
    r = cv2.magnitude(u, hxy2)
    cos2 = np.divide(u, r, out=np.ones_like(u), where=r > 0)
    cos = np.sqrt(np.maximum(0.5 + 0.5 * cos2, 0))
    sin = np.copysign(np.sqrt(np.maximum(0.5 - 0.5 * cos2, 0)), hxy2)
    turn = hxx + hyy <= 0
    dx, dy = np.where(turn, -sin, cos), np.where(turn, cos, sin)
    return _suppress(edge, dx, dy, multiplier)


def dark_edges(image, *, sigma, k=1.6, half=False):
    """The difference of Gaussians per channel, then ``ndarray.max`` over the channels; on the
    ``pyrDown`` level with the pyramid's variance taken off the sigmas when ``half``."""
    channels = image.astype(np.float32) / 255.0
    inner, outer = sigma, k * sigma
    if half:
        channels = cv2.pyrDown(channels)
        inner, outer = np.sqrt(inner**2 - 2.0) / 2, np.sqrt(outer**2 - 2.0) / 2
    d = cv2.GaussianBlur(channels, (0, 0), outer) - cv2.GaussianBlur(channels, (0, 0), inner)
    d = d.max(axis=2) if d.ndim == 3 else d
    if half:
        d = cv2.pyrUp(d, dstsize=(image.shape[1], image.shape[0]))
    return np.maximum(d, 0.0)


def hysteresis(edge, *, high, low):
    """Canny's hysteresis through ``scipy.ndimage.label``."""
    from scipy.ndimage import label

    labels, _ = label(edge >= low, structure=np.ones((3, 3)))
    strong = np.unique(labels[(edge >= high) & (labels > 0)])
    return np.isin(labels, strong)


def xdog_sketch(image, *, enlargement=1.0, style=SketchStyle(), half=True):
    """:func:`facedata.features.sketch.xdog_sketch` step by step; ``half=False`` takes every
    scale at full size, as it was before the coarser scales moved to the half-size image."""
    image, base = _xdog_input(image, enlargement=enlargement, style=style)  # unchanged steps
    fewest, most = style.xdog_lines

    def lines_at(edge, high):
        lines = fast_thin(hysteresis(edge, high=high, low=high / 2))
        return remove_specks(lines, min_pixels=style.xdog_fragment)

    lines, edge, high = np.zeros(image.shape[:2], bool), None, XDOG_THRESHOLD
    for sigma in (base, 2 * base, 4 * base):
        dark = dark_edges(image, sigma=sigma, half=half and sigma > base and sigma >= 2)
        candidate = nms_half_angle(dark, sigma=style.nms_sigma or 2.0)
        strengths = np.sort(candidate[candidate > 0])[::-1]
        if len(strengths) == 0:
            continue
        seeds = [strengths[min(int(q * candidate.size), len(strengths) - 1)] for q in (0.08, 0.02)]
        edge, high = candidate, float(min(max(XDOG_THRESHOLD, seeds[0]), max(seeds[1], 0.002)))
        lines = lines_at(edge, high)
        if lines.mean() >= fewest:
            break
    retries = 0
    while edge is not None and retries < 4 and not fewest <= lines.mean() <= most:
        high *= 0.6 if lines.mean() < fewest else 1.6
        lines, retries = lines_at(edge, high), retries + 1
    return lines
