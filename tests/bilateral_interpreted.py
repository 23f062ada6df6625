"""Runs the bilateral kernel route under Triton's interpreter, for ``tests/test_bilateral.py``.

``python -m tests.bilateral_interpreted CASES.npz OUT.npz`` with ``TRITON_INTERPRET=1`` in the
environment (triton reads it once, when first imported, so it takes a fresh process). Every
array ``NAME`` of CASES (a (B, H, W, 3) uint8 batch) is filtered as its scalar options
``NAME.diameter``, ``NAME.sigma_color``, ``NAME.sigma_space``, ``NAME.passes`` and optional
``NAME.tile`` say; ``NAME.labels`` instead makes it a colour map with ``SCFEGAN``. OUT holds
each result and ``NAME.launches``, the kernel launches it took, counted around the kernel.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from facedata.features import bilateral, bilateral_kernel
from facedata.features.color import SCFEGAN, color_map


class CountedKernel:
    """The kernel, counting its launches (``kernel[grid](...)``)."""

    def __init__(self, kernel):
        self.kernel, self.launches = kernel, 0

    def __getitem__(self, grid):
        self.launches += 1
        return self.kernel[grid]


def run(name: str, cases: dict[str, np.ndarray]) -> np.ndarray:
    image = torch.from_numpy(cases[name])
    if f"{name}.labels" in cases:
        return color_map(image, torch.from_numpy(cases[f"{name}.labels"]), smoothing=SCFEGAN)
    options = {k: cases[f"{name}.{k}"].item() for k in ("diameter", "sigma_color", "sigma_space")}
    if f"{name}.tile" not in cases:
        return bilateral.bilateral_filter(image, passes=int(cases[f"{name}.passes"]), **options)
    offsets, space = bilateral.window(options["diameter"], options["sigma_space"])
    colour = bilateral.range_weights(options["sigma_color"])
    tile = tuple(int(t) for t in cases[f"{name}.tile"])
    passes = int(cases[f"{name}.passes"])
    return bilateral._kernel_passes(image, offsets, space, colour, passes, tile)


def main(cases_path: str, out_path: str) -> None:
    cases = dict(np.load(cases_path))
    counted = bilateral_kernel.bilateral_pass = CountedKernel(bilateral_kernel.bilateral_pass)
    out = {"uses_kernel": np.array(bilateral.uses_kernel(torch.zeros(1, 1, 1, 3)))}
    for name in [k for k in cases if "." not in k]:
        before = counted.launches
        out[name] = run(name, cases).numpy()
        out[f"{name}.launches"] = np.array(counted.launches - before)
    np.savez(out_path, **out)


if __name__ == "__main__":
    main(*sys.argv[1:])
