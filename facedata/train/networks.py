"""SC-FEGAN's generator (gated-convolution U-Net) and SN-PatchGAN discriminator.

Tensors follow SC-FEGAN: image and colour map in [-1, 1], sketch and mask in {0, 1} with
mask 1 = hole, shapes (B, C, H, W).

References
----------
Jo & Park, "SC-FEGAN: Face Editing Generative Adversarial Network with User's Sketch and
Color", ICCV 2019 (architecture, inputs). Yu et al., "Free-Form Image Inpainting with Gated
Convolution", ICCV 2019 (SN-PatchGAN).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..errors import ConfigError
from .layers import GatedConv2d, GatedDeconv2d

#: Channels: image·(1−M) 3, sketch 1, colour 3, mask 1, noise 1.
GENERATOR_INPUTS = 9
#: Channels: image 3, sketch 1, colour 3, mask 1.
DISCRIMINATOR_INPUTS = 8
#: Dilation rates of the bottleneck's gated convolutions.
DILATIONS = (2, 4, 8, 16)


def generator_input(
    image: torch.Tensor,
    mask: torch.Tensor,
    sketch: torch.Tensor,
    color: torch.Tensor,
    noise: torch.Tensor,
) -> torch.Tensor:
    """``[image·(1−M), sketch·M, colour·M, M, noise·M]``, (B, 9, H, W).

    Parameters
    ----------
    image, color : (B, 3, H, W) tensors in [-1, 1]
    mask, sketch, noise : (B, 1, H, W) tensors (mask and sketch in {0, 1})
    """
    return torch.cat([image * (1 - mask), sketch * mask, color * mask, mask, noise * mask], 1)


def discriminator_input(
    image: torch.Tensor, mask: torch.Tensor, sketch: torch.Tensor, color: torch.Tensor
) -> torch.Tensor:
    """``[image, sketch·M, colour·M, M]``, (B, 8, H, W): the image with what the user drew."""
    return torch.cat([image, sketch * mask, color * mask, mask], 1)


def composite(output: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``output·M + image·(1−M)``: generated pixels in the hole, the known ones elsewhere."""
    return output * mask + image * (1 - mask)


def inpaint(
    generator: nn.Module,
    image: torch.Tensor,
    mask: torch.Tensor,
    sketch: torch.Tensor,
    color: torch.Tensor,
    noise: torch.Tensor,
) -> torch.Tensor:
    """Run the generator and composite its output into the known pixels (B, 3, H, W)."""
    output = generator(generator_input(image, mask, sketch, color, noise))
    return composite(output.float(), image, mask)


def default_depth(size: int) -> int:
    """``log2(size / 4)`` down-samplings: a 4×4 bottleneck, as SC-FEGAN's 7 at 512²."""
    depth = round(math.log2(size / 4)) if size >= 8 else 0
    if depth < 1 or size != 4 * 2**depth:
        raise ConfigError(f"size {size} is not a power of two >= 8; choose 64, 128, 256 or 512")
    return depth


class Generator(nn.Module):
    """SC-FEGAN generator: a U-Net of gated convolutions ending in tanh.

    Encoder: gated convs with stride 2, kernels 7, 5, 5, then 3, channels cnum·(1, 2, 4, 8, 8,
    ...); no LRN on the first. Bottleneck: four gated 3×3 convs dilated 2, 4, 8, 16. Decoder:
    per level a gated 5×5/2 transposed conv, concatenation with the mirrored encoder feature
    and a gated 3×3 conv; the last level concatenates the raw input and ends in 3 channels
    without LRN or activation, then tanh. At cnum 64 and 512² (depth 7): 92,886,100 parameters.

    Parameters
    ----------
    cnum : int
        Channels of the first layer.
    size : int
        Image side the network is built for; sets the depth (``log2(size / 4)``).
    depth : int or None
        Number of down-samplings, overriding the one derived from ``size``.

    Shape
    -----
    (B, 9, H, W) → (B, 3, H, W) in [-1, 1], ``H`` and ``W`` divisible by ``2**depth``.
    Build the input with :func:`generator_input`.
    """

    def __init__(self, cnum: int = 64, size: int = 512, depth: int | None = None):
        super().__init__()
        self.cnum, self.size = cnum, size
        self.depth = depth or default_depth(size)
        channels = [cnum * min(2**i, 8) for i in range(self.depth)]
        kernels = [(7, 5, 5)[i] if i < 3 else 3 for i in range(self.depth)]
        ins = [GENERATOR_INPUTS, *channels[:-1]]
        self.encoder = nn.ModuleList(
            GatedConv2d(i, c, k, stride=2, norm=n > 0)
            for n, (i, c, k) in enumerate(zip(ins, channels, kernels))
        )
        deepest = channels[-1]
        self.bottleneck = nn.Sequential(
            *(GatedConv2d(deepest, deepest, 3, dilation=r) for r in DILATIONS)
        )
        # Decoder level j (deepest first) goes from encoder feature j to the resolution of
        # feature j-1 and joins it; level 0 goes back to the input and is the output layer.
        out = [3, *channels[:-1]]
        skip = [GENERATOR_INPUTS, *channels[:-1]]
        levels = range(self.depth - 1, -1, -1)
        self.up = nn.ModuleList(GatedDeconv2d(channels[j], out[j]) for j in levels)
        self.fuse = nn.ModuleList(
            GatedConv2d(skip[j] + out[j], out[j], 3, norm=j > 0, act=j > 0) for j in levels
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [x]
        h = x
        for layer in self.encoder:
            h = layer(h)
            skips.append(h)
        skips.pop()  # the deepest feature feeds the bottleneck, not a skip connection
        h = self.bottleneck(h)
        for up, fuse in zip(self.up, self.fuse):
            h = fuse(torch.cat([skips.pop(), up(h)], 1))
        return torch.tanh(h)


class Discriminator(nn.Module):
    """SN-PatchGAN: six spectral-normalised stride-2 convolutions with leaky ReLU 0.2.

    Channels cnum·(1, 2, 4, 4, 4, 4); kernel 3 as in SC-FEGAN (5 in DeepFillv2). Every
    element of the flattened last feature map scores one patch.

    Parameters
    ----------
    cnum : int
    kernel_size : int
    in_channels : int
        8 for SC-FEGAN (:func:`discriminator_input`).

    Shape
    -----
    (B, in_channels, H, W) → (B, 4·cnum · ⌈H/64⌉ · ⌈W/64⌉)
    """

    def __init__(
        self, cnum: int = 64, kernel_size: int = 3, in_channels: int = DISCRIMINATOR_INPUTS
    ):
        super().__init__()
        self.cnum, self.kernel_size = cnum, kernel_size
        channels = [cnum * m for m in (1, 2, 4, 4, 4, 4)]
        ins = [in_channels, *channels[:-1]]
        self.convs = nn.ModuleList(
            spectral_norm(nn.Conv2d(i, o, kernel_size, stride=2, padding=kernel_size // 2))
            for i, o in zip(ins, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return x.flatten(1)
