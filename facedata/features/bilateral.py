"""OpenCV's 8-bit, 3-channel ``bilateralFilter`` on batches of torch tensors.

SC-FEGAN's colour maps (:mod:`facedata.features.color`) smooth with 20 passes of OpenCV's
bilateral filter; this module computes the same numbers on any torch device. As OpenCV: a
disk window of radius ``max(diameter // 2, 1)``, spatial weights ``exp(-r**2 / (2
sigma_space**2))`` and range weights ``exp(-d**2 / (2 sigma_color**2))`` on the sum ``d`` of
the absolute channel differences (both float32 tables), the taps summed in OpenCV's order,
each sum multiplied by the reciprocal of the weight sum, mirrored borders
(``BORDER_REFLECT_101``) and the result rounded half to even to uint8 after every pass.

Two routes give the same result:

- a fused Triton kernel (:mod:`facedata.features.bilateral_kernel`), one launch per pass, for
  CUDA tensors when triton imports, and for any tensor when ``TRITON_INTERPRET=1`` (Triton's
  interpreter, on the CPU: how the tests check the kernel);
- a loop of tensor operations over the window's taps otherwise (CPU tensors, torch without
  triton): about eight operations and a full-image temporary per tap.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import numpy as np

from .arrays import like

log = logging.getLogger(__name__)

#: Range-weight table length: the L1 distance of two RGB values is at most 3 * 255.
RANGE_TABLE = 3 * 256


def radius(diameter: int) -> int:
    """OpenCV's window radius for a diameter: ``max(diameter // 2, 1)``."""
    return max(diameter // 2, 1)


def window(diameter: int, sigma_space: float) -> tuple[np.ndarray, np.ndarray]:
    """The taps of OpenCV's bilateral window, in OpenCV's order (row by row).

    Parameters
    ----------
    diameter : int
        OpenCV's ``d``; the window is the disk of radius :func:`radius`.
    sigma_space : float
        Spatial sigma in pixels.

    Returns
    -------
    offsets : (n, 2) int32 ndarray
        ``(dy, dx)`` of every tap with ``dy**2 + dx**2 <= radius**2``.
    weights : (n,) float32 ndarray
        ``exp(-(dy**2 + dx**2) / (2 sigma_space**2))`` computed in float64, stored in float32.

    Examples
    --------
    >>> offsets, weights = window(3, 1.0)
    >>> offsets.tolist()
    [[-1, 0], [0, -1], [0, 0], [0, 1], [1, 0]]
    >>> weights.round(4).tolist()
    [0.6065, 0.6065, 1.0, 0.6065, 0.6065]
    """
    r = radius(diameter)
    offsets = np.array(
        [
            (dy, dx)
            for dy in range(-r, r + 1)
            for dx in range(-r, r + 1)
            if dy * dy + dx * dx <= r * r
        ],
        np.int32,
    )
    squared = (offsets.astype(np.float64) ** 2).sum(1)
    return offsets, np.exp(squared * (-0.5 / sigma_space**2)).astype(np.float32)


def range_weights(sigma_color: float) -> np.ndarray:
    """(768,) float32: ``exp(-d**2 / (2 sigma_color**2))`` for ``d = 0 .. 767``, as OpenCV."""
    return np.exp(np.arange(RANGE_TABLE) ** 2 * (-0.5 / sigma_color**2)).astype(np.float32)


def bilateral_filter(
    image: Any, *, diameter: int, sigma_color: float, sigma_space: float, passes: int = 1
) -> Any:
    """``passes`` rounds of OpenCV's ``bilateralFilter(d, sigma_color, sigma_space)``.

    Parameters
    ----------
    image : (B, H, W, 3) uint8 torch tensor
        RGB (or any 3-channel) images, on any device.
    diameter : int
        OpenCV's ``d``.
    sigma_color : float
        Range sigma, on the sum of the absolute channel differences (0-255 scale).
    sigma_space : float
        Spatial sigma in pixels.
    passes : int
        Rounds; each reads the previous one's uint8 result.

    Returns
    -------
    (B, H, W, 3) uint8 tensor
        On ``image``'s device. Equal to ``cv2.bilateralFilter`` applied ``passes`` times, up
        to float summation order (OpenCV's vector and scalar code paths group the taps
        differently): a single pass differs by at most 1 on under 0.1% of the pixels.

    Raises
    ------
    ValueError
        When the radius is not below both sides of the image (the mirrored border needs it).

    Examples
    --------
    >>> import torch
    >>> flat = torch.full((1, 8, 8, 3), 90, dtype=torch.uint8)
    >>> bilateral_filter(flat, diameter=5, sigma_color=30, sigma_space=5).unique().tolist()
    [90]
    """
    r = radius(diameter)
    height, width = image.shape[1:3]
    if r >= min(height, width):
        raise ValueError(
            f"a {height}x{width} smoothing grid is too small for a bilateral radius of {r}; "
            "use a smaller Smoothing.factor or diameter"
        )
    offsets, space = window(diameter, sigma_space)
    colour = range_weights(sigma_color)
    if passes == 0:
        return image
    if uses_kernel(image):
        return _kernel_passes(image, offsets, space, colour, passes)
    return _loop_passes(image, offsets, space, colour, passes)


def uses_kernel(image: Any) -> bool:
    """Whether :func:`bilateral_filter` runs the Triton kernel for this tensor.

    True for CUDA tensors when triton imports, and for any tensor when triton's interpreter
    is on (``TRITON_INTERPRET=1``); the tensor-op loop runs otherwise.
    """
    if image.is_cuda:
        return _triton() is not None
    if not os.environ.get("TRITON_INTERPRET"):
        return False
    triton = _triton()
    return triton is not None and bool(triton.knobs.runtime.interpret)


@functools.cache
def _triton() -> Any:
    """The triton module, or None (logged once) when it does not import."""
    try:
        import triton
    except ImportError as error:
        log.debug("triton does not import (%s): bilateral filtering loops over tensor ops", error)
        return None
    return triton


def _kernel_passes(
    image: Any,
    offsets: np.ndarray,
    space: np.ndarray,
    colour: np.ndarray,
    passes: int,
    tile: tuple[int, int] | None = None,
) -> Any:
    """The passes through :func:`facedata.features.bilateral_kernel.bilateral_pass`.

    ``tile`` is a program's (rows, columns), powers of two; by default 16 x 64 on a GPU and
    the whole image under the interpreter, whose cost is per program and per operation, not
    per pixel.
    """
    import torch

    from . import bilateral_kernel as kernel

    batch, height, width = image.shape[:3]
    r = int(np.abs(offsets).max())
    if tile is None:
        tile = (
            (_power_of_two(height), _power_of_two(width))
            if _triton().knobs.runtime.interpret
            else (kernel.BLOCK_H, kernel.BLOCK_W)
        )
    channels = image.to(torch.int32)
    words = (channels[..., 0] | channels[..., 1] << 8 | channels[..., 2] << 16).contiguous()
    rows, cols = (like(reflect_101(n, r), words)[:, None] for n in (height, width))
    flat = offsets[:, 0] * (width + 2 * r) + offsets[:, 1]
    taps, space, colour = (like(np.ascontiguousarray(a), words) for a in (flat, space, colour))
    grid = (-(-width // tile[1]), -(-height // tile[0]), batch)
    for _ in range(passes):
        padded = words[:, rows, cols[:, 0]]
        kernel.bilateral_pass[grid](
            padded,
            words,
            taps,
            space,
            colour,
            len(flat),
            height,
            width,
            r,
            BLOCK_H=tile[0],
            BLOCK_W=tile[1],
            **kernel.OPTIONS,
        )
    return torch.stack([words & 255, (words >> 8) & 255, words >> 16], -1).to(torch.uint8)


def reflect_101(n: int, pad: int) -> np.ndarray:
    """Source index of each position of a length-``n`` axis padded by ``pad`` on both sides,
    mirrored without repeating the edge (OpenCV's ``BORDER_REFLECT_101``; ``pad < n``).

    Examples
    --------
    >>> reflect_101(4, 2).tolist()
    [2, 1, 0, 1, 2, 3, 2, 1]
    """
    at = np.abs(np.arange(-pad, n + pad))
    return np.where(at >= n, 2 * n - 2 - at, at)


def _power_of_two(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


def _loop_passes(
    image: Any, offsets: np.ndarray, space: np.ndarray, colour: np.ndarray, passes: int
) -> Any:
    """The passes as tensor operations, one round of them per tap (any device)."""
    import torch
    import torch.nn.functional as F

    r = int(np.abs(offsets).max())
    x = image.permute(0, 3, 1, 2).float()
    height, width = x.shape[-2:]
    range_weight = like(colour, x)
    taps = [(int(dy), int(dx), float(w)) for (dy, dx), w in zip(offsets, space)]
    for _ in range(passes):
        padded = F.pad(x, (r, r, r, r), mode="reflect")
        total = torch.zeros_like(x)
        weights = torch.zeros_like(x[:, :1])
        for dy, dx, weight_space in taps:
            neighbour = padded[:, :, r + dy : r + dy + height, r + dx : r + dx + width]
            distance = (neighbour - x).abs().sum(1, keepdim=True).long()
            weight = range_weight[distance] * weight_space
            total += weight * neighbour
            weights += weight
        x = (total * (1 / weights)).round()
    return x.permute(0, 2, 3, 1).to(torch.uint8)
