"""The building blocks of SC-FEGAN: TF-style local response normalisation and gated convolutions.

References
----------
Jo & Park, "SC-FEGAN: Face Editing Generative Adversarial Network with User's Sketch and
Color", ICCV 2019. Yu et al., "Free-Form Image Inpainting with Gated Convolution"
(DeepFillv2), ICCV 2019.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: ``tf.nn.lrn`` defaults, with SC-FEGAN's bias: a window of 2·5+1 channels.
LRN_DEPTH_RADIUS = 5
LRN_BIAS = 5e-5
LRN_ALPHA = 1.0
LRN_BETA = 0.5


def lrn(
    x: torch.Tensor,
    *,
    depth_radius: int = LRN_DEPTH_RADIUS,
    bias: float = LRN_BIAS,
    alpha: float = LRN_ALPHA,
    beta: float = LRN_BETA,
) -> torch.Tensor:
    """Local response normalisation across channels, as TensorFlow's ``tf.nn.lrn``.

    ``out[c] = x[c] / (bias + alpha · Σ_{|c'-c| <= depth_radius} x[c']²) ** beta``. Torch's
    ``local_response_norm`` divides ``alpha`` by the window size, so it is called with
    ``alpha · (2·depth_radius + 1)``. Computed in float32: under fp16 autocast the sum of
    squares would overflow.

    Parameters
    ----------
    x : (B, C, H, W) tensor

    Returns
    -------
    (B, C, H, W) tensor, same dtype as ``x``.
    """
    size = 2 * depth_radius + 1
    out = F.local_response_norm(x.float(), size, alpha=alpha * size, beta=beta, k=bias)
    return out.to(x.dtype)


def gate(feature: torch.Tensor, gate_logits: torch.Tensor, *, norm: bool, act: bool):
    """Gated activation: ``φ(LRN(feature)) · sigmoid(gate_logits)``, φ = leaky ReLU 0.2."""
    if norm:
        feature = lrn(feature)
    if act:
        feature = F.leaky_relu(feature, 0.2)
    return feature * torch.sigmoid(gate_logits)


class GatedConv2d(nn.Module):
    """Gated convolution: a feature convolution and a gate convolution of the same shape.

    ``out = leaky_relu(LRN(conv_f(x)), 0.2) · sigmoid(conv_g(x))``, "same" padding.

    Parameters
    ----------
    in_channels, out_channels, kernel_size : int
    stride, dilation : int
    norm : bool
        Apply LRN to the feature (off on SC-FEGAN's first and last layers).
    act : bool
        Apply the leaky ReLU to the feature (off on the last layer).

    Shape
    -----
    (B, in, H, W) → (B, out, H / stride, W / stride) for ``H`` divisible by ``stride``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        norm: bool = True,
        act: bool = True,
    ):
        super().__init__()
        padding = dilation * (kernel_size - 1) // 2
        args = (in_channels, out_channels, kernel_size)
        kw = dict(stride=stride, padding=padding, dilation=dilation)
        self.feature = nn.Conv2d(*args, **kw)
        self.gate = nn.Conv2d(*args, **kw)
        self.norm, self.act = norm, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gate(self.feature(x), self.gate(x), norm=self.norm, act=self.act)


class GatedDeconv2d(nn.Module):
    """Gated 5×5 stride-2 transposed convolution (doubles H and W).

    As in the released SC-FEGAN model, feature and gate share the transposed-convolution
    weight and have their own biases: ``out = leaky_relu(W*x + b_f) · sigmoid(W*x + b_g)``
    (no LRN). This is what gives the published parameter count (92.9 M at cnum 64). The
    released TF code then takes the gate's sigmoid of the activated feature, which leaves
    ``b_g`` unused; here the gate uses its bias, as the layer's name intends.

    Shape
    -----
    (B, in, H, W) → (B, out, 2H, 2W)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=2,
            padding=(kernel_size - 1) // 2,
            output_padding=1,
            bias=False,
        )
        self.feature_bias = nn.Parameter(torch.zeros(out_channels))
        self.gate_bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.deconv(x)
        return gate(
            y + self.feature_bias[:, None, None],
            y + self.gate_bias[:, None, None],
            norm=False,
            act=True,
        )
