"""SC-FEGAN's losses with the published weights.

``I_comp = I_gen·M + I_gt·(1−M)``. Generator::

    L_G = L_ppxl + σ·L_percept + β·L_G_adv + γ·(L_style(I_gen) + L_style(I_comp)) + υ·L_tv
    L_ppxl = mean|(1−M)·Δ| + α·mean|M·Δ|,  Δ = I_gen − I_gt
    L_percept = Σ_q mean|φ_q(I_gen) − φ_q(I_gt)| + mean|φ_q(I_comp) − φ_q(I_gt)|
    L_style(I) = Σ_q mean|G(φ_q(I)) − G(φ_q(I_gt))|,  G(φ) = φφᵀ / (C·H·W)
    L_G_adv = −mean D(I_comp),  L_tv = mean |horizontal and vertical differences of I_comp|

with φ_q the VGG16 pool1-3 features. Discriminator::

    L_D = mean(1 − D(I_gt)) + mean(1 + D(I_comp)) + θ·L_GP + ε·mean D(I_gt)²

Every function computes in float32 (in fp16 the Gram sums overflow).

References
----------
Jo & Park, "SC-FEGAN", ICCV 2019, section 3.3. Gulrajani et al., "Improved Training of
Wasserstein GANs" (gradient penalty); Karras et al., "Progressive Growing of GANs" (ε drift).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .config import LossWeights
from .networks import composite


def per_pixel_loss(
    output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, *, hole_weight: float
) -> torch.Tensor:
    """``mean|(1−M)·Δ| + α·mean|M·Δ|``; means over every element of the (B, 3, H, W) batch."""
    diff = (output.float() - target.float()).abs()
    mask = mask.float()
    return (diff * (1 - mask)).mean() + hole_weight * (diff * mask).mean()


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``φφᵀ / (C·H·W)`` of (B, C, H, W) features → (B, C, C)."""
    b, c, h, w = features.shape
    f = features.float().reshape(b, c, h * w)
    with torch.autocast(f.device.type, enabled=False):  # autocast would redo it in fp16
        return f @ f.transpose(1, 2) / (c * h * w)


def perceptual_loss(
    features: Sequence[torch.Tensor], target: Sequence[torch.Tensor]
) -> torch.Tensor:
    """``Σ_q mean|φ_q − φ_q(I_gt)|`` over the VGG layers."""
    return sum((f.float() - t.float()).abs().mean() for f, t in zip(features, target))


def style_loss(features: Sequence[torch.Tensor], target: Sequence[torch.Tensor]) -> torch.Tensor:
    """``Σ_q mean|G(φ_q) − G(φ_q(I_gt))|`` (the mean divides by C_q², as the paper)."""
    return sum((gram(f) - gram(t)).abs().mean() for f, t in zip(features, target))


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean absolute horizontal plus vertical neighbour difference."""
    x = image.float()
    return (x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (
        x[..., 1:, :] - x[..., :-1, :]
    ).abs().mean()


def gradient_penalty(gradients: torch.Tensor) -> torch.Tensor:
    """``mean_b (‖∇_x D(x̂_b)‖₂ − 1)²`` from the gradients of the critic at the interpolates."""
    return ((gradients.float().flatten(1).norm(dim=1) - 1) ** 2).mean()


def discriminator_loss(
    d_real: torch.Tensor, d_fake: torch.Tensor, gp: torch.Tensor, weights: LossWeights
) -> dict[str, torch.Tensor]:
    """L_D and its terms from the patch scores (B, P) of real and composited images.

    Returns
    -------
    dict
        ``d`` (the total), ``d_real``, ``d_fake`` (the two expectation terms), ``gp``,
        ``drift``.
    """
    d_real, d_fake = d_real.float(), d_fake.float()
    terms = {
        "d_real": (1 - d_real).mean(),
        "d_fake": (1 + d_fake).mean(),
        "gp": gp,
        "drift": (d_real**2).mean(),
    }
    terms["d"] = (
        terms["d_real"] + terms["d_fake"] + weights.gp * gp + weights.drift * terms["drift"]
    )
    return terms


def generator_loss(
    output: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    d_fake: torch.Tensor,
    weights: LossWeights,
    features: tuple[Sequence[torch.Tensor], ...] | None = None,
) -> dict[str, torch.Tensor]:
    """L_G and its terms.

    Parameters
    ----------
    output : (B, 3, H, W) tensor
        I_gen, the raw generator output in [-1, 1].
    target : (B, 3, H, W) tensor
        I_gt.
    mask : (B, 1, H, W) tensor
        1 = hole.
    d_fake : (B, P) tensor
        Discriminator scores of I_comp.
    weights : LossWeights
    features : (φ(I_gen), φ(I_comp), φ(I_gt)) or None
        VGG pool1-3 features; ``None`` switches the perceptual and style terms off.

    Returns
    -------
    dict
        ``g`` (the total), ``ppxl``, ``adv``, ``tv`` and, with features, ``percept`` and
        ``style``.
    """
    comp = composite(output.float(), target.float(), mask.float())
    terms = {
        "ppxl": per_pixel_loss(output, target, mask, hole_weight=weights.hole),
        "adv": -d_fake.float().mean(),
        "tv": tv_loss(comp),
    }
    total = terms["ppxl"] + weights.adversarial * terms["adv"] + weights.tv * terms["tv"]
    if features is not None:
        f_gen, f_comp, f_gt = features
        terms["percept"] = perceptual_loss(f_gen, f_gt) + perceptual_loss(f_comp, f_gt)
        terms["style"] = style_loss(f_gen, f_gt) + style_loss(f_comp, f_gt)
        total = total + weights.perceptual * terms["percept"] + weights.style * terms["style"]
    terms["g"] = total
    return terms
