"""FFHQ alignment: the crop that made FFHQ, computed from 68 landmarks.

The eyes and mouth define an oriented square (the *quad*); the image is shrunk when the quad
is much larger than the output, cropped around the quad with a border, reflect-padded with a
blurred, median-faded edge where the quad leaves the image, and the quad is warped onto the
output square. Coordinates are pixel centres throughout: pixel ``(0, 0)`` spans
``[-0.5, 0.5]``.

Differences from the original script, all for speed and none visible: the shrink is an exact
integer box filter, the blur is OpenCV's Gaussian, and the warp is supersampled at the
smallest integer multiple of the output size that does not upsample the quad, then box-
filtered down (FFHQ warps at 4096 and downsamples with a Lanczos filter).

References
----------
Karras, Laine & Aila, "A Style-Based Generator Architecture for Generative Adversarial
Networks", CVPR 2019; the FFHQ dataset's alignment script (``ffhq-dataset``,
``recreate_aligned_images``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def ffhq_quad(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """The oriented crop square of a face.

    Parameters
    ----------
    landmarks : (68, 2) float ndarray
        dlib 68-point landmarks ``(x, y)``.

    Returns
    -------
    quad : (4, 2) float64 ndarray
        Corners in the order top-left, bottom-left, bottom-right, top-right of the output.
    qsize : float
        Side length of the quad in pixels.

    Notes
    -----
    ``x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]``, normalised and scaled by
    ``max(2 |eye_to_eye|, 1.8 |eye_to_mouth|)``; ``y = flipud(x) * [-1, 1]``; the centre is
    ``eye_avg + 0.1 eye_to_mouth``; the quad is ``[c-x-y, c-x+y, c+x+y, c+x-y]``.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {lm.shape}")
    eye_left, eye_right = lm[36:42].mean(0), lm[42:48].mean(0)
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) / 2
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    return quad, float(np.hypot(*x) * 2)


def frame_error(quad: np.ndarray, shape: tuple[int, int]) -> float:
    """How far a crop square is from an image's own frame, as a fraction of its longer side.

    Parameters
    ----------
    quad : (4, 2) float ndarray
        Corners as returned by :func:`ffhq_quad`.
    shape : (H, W)
        The image's size.

    Returns
    -------
    float
        The largest distance of a corner from the matching frame corner (pixel centres:
        the frame is ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``), divided by ``max(H, W)``. About
        0.01 on crops that FFHQ's or CelebA-HQ's script made (same quad), more than 0.2 on
        portraits.

    Examples
    --------
    >>> frame_error(np.array([[-0.5, -0.5], [-0.5, 99.5], [99.5, 99.5], [99.5, -0.5]]), (100, 100))
    0.0
    """
    h, w = shape
    frame = np.array([[-0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5], [w - 0.5, -0.5]])
    distance = np.hypot(*(np.asarray(quad, np.float64) - frame).T)
    return float(distance.max() / max(h, w))


def padded_fraction(matrix: np.ndarray, shape: tuple[int, int], size: int) -> float:
    """Share of an aligned output that lies outside the source image (filled by padding).

    Parameters
    ----------
    matrix : (2, 3) float ndarray
        Image → output map from :func:`align_ffhq`.
    shape : (H, W)
        The source image's size.
    size : int
        Output side.

    Returns
    -------
    float
        In [0, 1]: one minus the area of the source image's footprint inside the output.

    Examples
    --------
    >>> padded_fraction(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (50, 100), 100)
    0.5
    """
    h, w = shape
    corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    footprint = transform_points(corners, matrix)
    out = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [size - 0.5, size - 0.5], [-0.5, size - 0.5]],
                   np.float32)  # fmt: skip
    if cv2.contourArea(footprint, oriented=True) < 0:  # a mirrored map turns the polygon over
        footprint = footprint[::-1].copy()
    area, _ = cv2.intersectConvexConvex(footprint, out)
    return float(np.clip(1.0 - max(area, 0.0) / size**2, 0.0, 1.0))


def quad_matrix(quad: np.ndarray, size: int) -> np.ndarray:
    """The affine map taking image coordinates to the ``size`` x ``size`` output of a quad.

    Parameters
    ----------
    quad : (4, 2) float ndarray
        Corners as returned by :func:`ffhq_quad` (a parallelogram).
    size : int
        Output side in pixels.

    Returns
    -------
    (2, 3) float64 ndarray
        ``M`` with ``output = M[:, :2] @ point + M[:, 2]``; corner 0 of the quad lands on
        ``(-0.5, -0.5)`` and corner 2 on ``(size - 0.5, size - 0.5)``.
    """
    quad = np.asarray(quad, dtype=np.float64)
    basis = np.stack([quad[3] - quad[0], quad[1] - quad[0]], axis=1)  # columns: x and y sides
    inv = np.linalg.inv(basis) * size
    return np.hstack([inv, (-inv @ quad[0] - 0.5)[:, None]])


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine map to ``(N, 2)`` points; returns float32 ``(N, 2)``."""
    pts = np.asarray(points, dtype=np.float64)
    return (pts @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def _shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """Exact ``factor`` x ``factor`` box average (the last partial block is dropped)."""
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    return cv2.resize(image[:h, :w], (w // factor, h // factor), interpolation=cv2.INTER_AREA)


def _pad_faded(image: np.ndarray, pad: np.ndarray, qsize: float) -> np.ndarray:
    """Reflect-pad, blur the padding (fading into the image), and fade it to the median colour."""
    left, top, right, bottom = (int(v) for v in pad)
    padded = cv2.copyMakeBorder(
        image.astype(np.float32), top, bottom, left, right, cv2.BORDER_REFLECT_101
    )
    h, w = padded.shape[:2]
    xs, ys = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
    # 0 on the original image's edge, 1 on the padding's outer edge, negative inside.
    fade_x = 1.0 - np.minimum(xs / left, (w - 1 - xs) / right)
    fade_y = 1.0 - np.minimum(ys / top, (h - 1 - ys) / bottom)
    fade = np.maximum(fade_y[:, None], fade_x[None, :])[..., None]
    sigma = qsize * 0.02
    blurred = cv2.GaussianBlur(padded, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    padded += (blurred - padded) * np.clip(fade * 3.0 + 1.0, 0.0, 1.0)
    padded += (np.median(padded, axis=(0, 1)) - padded) * np.clip(fade, 0.0, 1.0)
    return np.clip(np.rint(padded), 0, 255).astype(np.uint8)


def align_ffhq(
    image: np.ndarray,
    landmarks: np.ndarray,
    *,
    size: int = 1024,
    pad: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Crop and rotate a face the way FFHQ was made.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image at its native resolution.
    landmarks : (68, 2) float ndarray
        dlib landmarks of the face, in ``image``'s frame.
    size : int
        Output side in pixels.
    pad : bool
        Reflect-pad with a blurred edge where the quad leaves the image (FFHQ's
        ``enable_padding``); without it the warp replicates the edge pixels.

    Returns
    -------
    aligned : (size, size, 3) uint8 ndarray
    matrix : (2, 3) float64 ndarray
        Affine map from ``image`` coordinates to ``aligned`` coordinates (see
        :func:`transform_points`, :func:`warp_labels`).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    quad, qsize = ffhq_quad(landmarks)
    matrix = quad_matrix(quad, size)
    work, q = image, quad.copy()

    # Shrink a face much larger than the output, by an integer box filter.
    shrink = int(math.floor(qsize / size * 0.5))
    if shrink > 1:
        work = _shrink(work, shrink)
        q = (q - (shrink - 1) / 2) / shrink  # pixel centres of the shrunk image
        qsize /= shrink

    # Crop around the quad with a border.
    border = max(int(np.rint(qsize * 0.1)), 3)
    lo, hi = np.floor(q.min(0)).astype(int), np.ceil(q.max(0)).astype(int)
    h, w = work.shape[:2]
    x0, y0 = max(lo[0] - border, 0), max(lo[1] - border, 0)
    x1, y1 = min(hi[0] + border, w), min(hi[1] + border, h)
    if x1 - x0 < w or y1 - y0 < h:
        work = work[y0:y1, x0:x1]
        q -= (x0, y0)

    # Pad where the quad leaves the image.
    h, w = work.shape[:2]
    lo, hi = np.floor(q.min(0)).astype(int), np.ceil(q.max(0)).astype(int)
    padding = np.maximum([-lo[0] + border, -lo[1] + border, hi[0] - w + border,
                          hi[1] - h + border], 0)  # fmt: skip
    if pad and padding.max() > border - 4:
        padding = np.maximum(padding, max(1, int(np.rint(qsize * 0.3))))
        work = _pad_faded(work, padding, qsize)
        q += padding[:2]

    # Warp, supersampled by an integer factor so the final box filter is exact. A face smaller
    # than the output is enlarged with Lanczos: bilinear enlargement shows the JPEG blocks and
    # pixel grid as stairs, which sketches turn into axis-aligned dashes.
    transform = size * max(1, math.ceil(qsize / size))
    aligned = cv2.warpAffine(
        work,
        quad_matrix(q, transform),
        (transform, transform),
        flags=cv2.INTER_LANCZOS4 if qsize < size else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if transform > size:
        aligned = cv2.resize(aligned, (size, size), interpolation=cv2.INTER_AREA)
    return aligned, matrix


def warp_labels(
    labels: np.ndarray, matrix: np.ndarray, *, size: int, image_shape: tuple[int, int]
) -> np.ndarray:
    """Carry a label map through an alignment, with nearest-neighbour sampling.

    Parameters
    ----------
    labels : (h, w) uint8 ndarray
        Label map covering the same field of view as the image, at any resolution
        (CelebAMask-HQ: 512² for 1024² images).
    matrix : (2, 3) float ndarray
        Image → output map from :func:`align_ffhq`.
    size : int
        Output side.
    image_shape : (H, W)
        Size of the image ``matrix`` was computed on.

    Returns
    -------
    (size, size) uint8 ndarray
        Pixels that fall outside the annotated image are background (0): the image's
        reflected padding has no annotation.
    """
    sy, sx = image_shape[0] / labels.shape[0], image_shape[1] / labels.shape[1]
    # label pixel centre l  →  image coordinate (l + 0.5) * s - 0.5
    to_image = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])
    combined = np.hstack(
        [matrix[:, :2] @ to_image[:, :2], (matrix @ np.r_[to_image[:, 2], 1])[:, None]]
    )
    return cv2.warpAffine(
        labels,
        combined,
        (size, size),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
