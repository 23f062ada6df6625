"""Random HED weights under the exact keys and shapes of the published checkpoints."""

from __future__ import annotations

import functools

import torch

# The published layouts (reference §3), written out here rather than taken from the module.
VGG = [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3)]
BSDS_STAGES = ["VggOne", "VggTwo", "VggThr", "VggFou", "VggFiv"]
BSDS_SCORES = ["ScoreOne", "ScoreTwo", "ScoreThr", "ScoreFou", "ScoreFiv"]
MEAN_BGR = [104.00698793, 116.66876762, 122.67891434]


def _conv(g, c_out, c_in, k):
    # He-normal weights keep activations in range through 13 layers, so outputs are not 0/1.
    w = torch.randn(c_out, c_in, k, k, generator=g) * (2.0 / (c_in * k * k)) ** 0.5
    return w, torch.randn(c_out, generator=g) * 0.05


@functools.cache
def bsds_state(prefix: str = "module", seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors under network-bsds500.pytorch's 38 keys and shapes."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, (c_in, c_out, n) in enumerate(VGG):
        for i in range(n):
            idx = 2 * i + (1 if k else 0)  # index 0 of stages 2-5 is the pool
            w, b = _conv(g, c_out, c_in if i == 0 else c_out, 3)
            state[f"{prefix}{BSDS_STAGES[k]}.{idx}.weight"] = w
            state[f"{prefix}{BSDS_STAGES[k]}.{idx}.bias"] = b
        w, b = _conv(g, 1, c_out, 1)
        state[f"{prefix}{BSDS_SCORES[k]}.weight"] = w * 0.05
        state[f"{prefix}{BSDS_SCORES[k]}.bias"] = b
    state[f"{prefix}Combine.0.weight"] = torch.randn(1, 5, 1, 1, generator=g) * 0.5
    state[f"{prefix}Combine.0.bias"] = torch.zeros(1)
    return state


@functools.cache
def controlnet_state(seed: int = 1) -> dict[str, torch.Tensor]:
    """Random tensors under ControlNetHED.pth's 37 keys and shapes."""
    g = torch.Generator().manual_seed(seed)
    state = {"norm": torch.rand(1, 3, 1, 1, generator=g) * 128}
    for k, (c_in, c_out, n) in enumerate(VGG, start=1):
        for i in range(n):
            w, b = _conv(g, c_out, c_in if i == 0 else c_out, 3)
            state[f"block{k}.convs.{i}.weight"] = w
            state[f"block{k}.convs.{i}.bias"] = b
        w, b = _conv(g, 1, c_out, 1)
        state[f"block{k}.projection.weight"] = w * 0.05
        state[f"block{k}.projection.bias"] = b
    return state
