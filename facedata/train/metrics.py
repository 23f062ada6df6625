"""Inpainting metrics per image (L1, PSNR, SSIM) and their table by mask-coverage bucket.

Images are (B, C, H, W) tensors in [0, 1]. SSIM follows Wang et al. (2004) with an 11×11
Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, averaged over the pixels whose window lies
inside the image and over channels: the numbers of
``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1, channel_axis=-1)``, batched in torch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Coverage buckets of LaMa-style evaluators: [0, 10%), [10%, 20%) … [90%, 100%].
BUCKETS = tuple(f"{10 * i}-{10 * i + 10}%" for i in range(10))
#: PSNR of a perfect reconstruction (the MSE is floored so the mean stays finite).
MAX_PSNR = 100.0


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image, (B,)."""
    return (x - y).abs().flatten(1).mean(1)


def psnr(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, (B,), at most :data:`MAX_PSNR`."""
    mse = ((x - y) ** 2).flatten(1).mean(1).clamp_min(data_range**2 * 10 ** (-MAX_PSNR / 10))
    return 10 * torch.log10(data_range**2 / mse)


def _gaussian_window(sigma: float, radius: int, dtype, device) -> torch.Tensor:
    t = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    w = torch.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    data_range: float = 1.0,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Structural similarity per image, (B,); images at least 11×11.

    References
    ----------
    Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error visibility to
    structural similarity", IEEE TIP 2004.
    """
    radius = int(3.5 * sigma + 0.5)  # scipy's Gaussian truncation, as skimage uses
    c = x.shape[1]
    w = _gaussian_window(sigma, radius, x.dtype, x.device)
    wx = w.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    wy = w.view(1, 1, -1, 1).expand(c, 1, -1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:  # "valid": only windows inside the image
        return F.conv2d(F.conv2d(t, wx, groups=c), wy, groups=c)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cov = blur(x * y) - mx * my
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1)


def bucket(coverage: float) -> str:
    """The :data:`BUCKETS` label of a hole fraction in [0, 1]."""
    return BUCKETS[min(int(coverage * 10), 9)]


def table(rows: list[dict]) -> dict:
    """Average per-image rows (``coverage``, ``l1``, ``psnr``, ``ssim``) by bucket.

    Returns
    -------
    dict
        ``buckets``: one entry per non-empty bucket in order (``bucket``, ``count``, mean
        ``coverage``, ``l1``, ``psnr``, ``ssim``); ``all``: the same over every image.
    """

    def mean(group: list[dict]) -> dict:
        n = len(group)
        return {"count": n} | {
            k: sum(r[k] for r in group) / n if n else math.nan
            for k in ("coverage", "l1", "psnr", "ssim")
        }

    groups = {b: [r for r in rows if bucket(r["coverage"]) == b] for b in BUCKETS}
    return {
        "buckets": [{"bucket": b} | mean(g) for b, g in groups.items() if g],
        "all": mean(rows),
    }


def markdown(result: dict) -> str:
    """The table of :func:`table` as Markdown."""
    lines = [
        "| coverage | images | L1 | PSNR (dB) | SSIM |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in [*result["buckets"], {"bucket": "all"} | result["all"]]:
        lines.append(
            f"| {row['bucket']} | {row['count']} | {row['l1']:.4f} | {row['psnr']:.2f} "
            f"| {row['ssim']:.4f} |"
        )
    return "\n".join(lines) + "\n"
