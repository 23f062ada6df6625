"""One pass of OpenCV's 8-bit, 3-channel bilateral filter as a Triton kernel.

Imported only by :mod:`facedata.features.bilateral` when a tensor takes the kernel route:
importing it imports triton, which reads ``TRITON_INTERPRET`` once, at that import.

Each program filters a ``BLOCK_H x BLOCK_W`` tile of one image. The four sums (weights and
three weighted channels) stay in registers while the program walks the window's taps in
OpenCV's order; a tap costs one 32-bit load per pixel (the three channels packed in one
word, at one scalar offset from the pixel) and one look-up in the 768-entry range-weight
table. The caller mirrors the borders (``BORDER_REFLECT_101``) into a padded copy before each
pass, so the loop has no index arithmetic beyond that offset.

The arithmetic is OpenCV's, operation for operation in float32: ``w = space[k] *
colour[d]``, ``wsum += w``, ``sum += v * w`` over the taps in order, then ``sum * (1 /
wsum)`` rounded half to even. Launched with ``enable_fp_fusion=False`` (no fused
multiply-adds) and IEEE division, a GPU computes exactly what the Triton interpreter
computes on the CPU, which is what the tests check against OpenCV.
"""

import triton
import triton.language as tl

#: Tile of one program on a GPU: 1,024 pixels, a warp reading 32 consecutive words of a row.
#: Eight pixels a thread share each tap's two scalar loads: 29 instructions per tap and pixel
#: on sm_90, against 32 with four (docs/color.md).
BLOCK_H = 16
BLOCK_W = 64
#: Launch options: no fused multiply-adds (the interpreter has none either, nor OpenCV's
#: scalar code), four warps.
OPTIONS = {"num_warps": 4, "enable_fp_fusion": False}
#: 2**23: adding then subtracting it rounds a float32 in [0, 2**22) to an integer, half to
#: even (the interpreter has no libdevice ``rint``).
_ROUNDER = tl.constexpr(8388608.0)


@triton.jit
def bilateral_pass(
    src,
    dst,
    taps,
    space,
    colour,
    n_taps,
    height,
    width,
    radius,
    BLOCK_H: tl.constexpr,
    BLOCK_W: tl.constexpr,
):
    """``dst`` = one bilateral pass of ``src``, in int32 words ``r | g << 8 | b << 16``.

    ``src`` is (B, H + 2 radius, W + 2 radius), the images mirrored by ``radius`` pixels on
    every side; ``dst`` is (B, H, W). ``taps`` (n_taps,) int32 holds each tap's offset
    ``dy * (W + 2 radius) + dx`` and ``space`` (n_taps,) float32 its spatial weight, in
    OpenCV's order; ``colour`` is the (768,) float32 range-weight table. Grid: (column
    tiles, row tiles, images).
    """
    image = tl.program_id(2)
    rows = tl.program_id(1) * BLOCK_H + tl.arange(0, BLOCK_H)
    cols = tl.program_id(0) * BLOCK_W + tl.arange(0, BLOCK_W)
    inside = (rows < height)[:, None] & (cols < width)[None, :]
    padded_width = width + 2 * radius
    # 64-bit image offsets: a batch may hold more than 2**31 words.
    at = src + image.to(tl.int64) * (height + 2 * radius) * padded_width
    at += (rows + radius)[:, None] * padded_width + (cols + radius)[None, :]
    centre = tl.load(at, mask=inside, other=0)
    r0 = centre & 255
    g0 = (centre >> 8) & 255
    b0 = centre >> 16
    wsum = tl.zeros((BLOCK_H, BLOCK_W), tl.float32)
    rsum = tl.zeros((BLOCK_H, BLOCK_W), tl.float32)
    gsum = tl.zeros((BLOCK_H, BLOCK_W), tl.float32)
    bsum = tl.zeros((BLOCK_H, BLOCK_W), tl.float32)
    for k in range(n_taps):
        near = tl.load(at + tl.load(taps + k), mask=inside, other=0)
        r = near & 255
        g = (near >> 8) & 255
        b = near >> 16
        # Masked lanes read 0 twice: distance 0, a valid table index.
        distance = tl.abs(r - r0) + tl.abs(g - g0) + tl.abs(b - b0)
        w = tl.load(space + k) * tl.load(colour + distance)
        wsum += w
        rsum += r.to(tl.float32) * w
        gsum += g.to(tl.float32) * w
        bsum += b.to(tl.float32) * w
    scale = tl.math.div_rn(tl.full((BLOCK_H, BLOCK_W), 1.0, tl.float32), wsum)
    r = ((rsum * scale + _ROUNDER) - _ROUNDER).to(tl.int32)
    g = ((gsum * scale + _ROUNDER) - _ROUNDER).to(tl.int32)
    b = ((bsum * scale + _ROUNDER) - _ROUNDER).to(tl.int32)
    out = dst + image.to(tl.int64) * height * width + rows[:, None] * width + cols[None, :]
    tl.store(out, r | (g << 8) | (b << 16), mask=inside)
