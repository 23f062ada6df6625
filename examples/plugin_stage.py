"""A new map in one file: a gradient-magnitude PNG, built into the demo shards and read back.

    python examples/plugin_stage.py OUT

The stage below declares its one field (``gradient.png``) as a ``FieldSpec``: a grey map at
the build's size, drawn as grey in previews, served to trainers as a (1, H, W) float tensor
in [0, 1]. ``facedata.register_stage`` adds it to ``--maps``; the build writes the spec into
the manifest, so ``facedata verify OUT``, ``facedata preview OUT``, ``facedata inspect OUT``,
``facedata export OUT`` and ``ShardDataset`` serve the field, in this process or any other,
without this file. docs/plugins.md walks through it.

A distribution can ship the same class without calling ``register_stage``, under the entry
point group ``facedata.stages`` (``gradient = "my_package.gradient:GradientStage"``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

import facedata
from facedata.data import ShardDataset, export_folders
from facedata.pipeline import BuildConfig, build
from facedata.preview.config import PreviewConfig
from facedata.preview.grid import save_rgb, shard_grid
from facedata.shards.inspect import format_summary, summarize
from facedata.shards.verify import verify
from facedata.sources import SourceConfig


def gradient_magnitude(image: np.ndarray, *, blur: float = 1.0) -> np.ndarray:
    """Sobel gradient magnitude of the image's luma, scaled so that 255 is the maximum.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB.
    blur : float
        Gaussian sigma in pixels before differentiating (0: none).

    Returns
    -------
    (H, W) uint8 ndarray

    >>> ramp = np.tile(np.arange(8, dtype=np.uint8) * 30, (8, 1))
    >>> int(gradient_magnitude(np.dstack([ramp] * 3), blur=0)[4, 4])
    255
    """
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    if blur > 0:
        gray = cv2.GaussianBlur(gray, (0, 0), blur)
    magnitude = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    top = float(magnitude.max())
    return (
        np.zeros(gray.shape, np.uint8)
        if top == 0
        else np.round(magnitude * (255 / top)).astype(np.uint8)
    )


@dataclass(frozen=True)
class GradientConfig:
    """Options of the gradient map.

    Attributes
    ----------
    blur : float
        Gaussian sigma in pixels before the Sobel filters.
    """

    blur: float = 1.0


@facedata.register_stage
class GradientStage(facedata.Stage):
    """``gradient.png``: the image's gradient magnitude, 255 at its maximum."""

    name = "gradient"
    Config = GradientConfig
    fields = (
        facedata.FieldSpec(
            "gradient.png", "gray", tensor="gradient", preview="gray",
            description="Sobel gradient magnitude of the luma, 255 = strongest edge",
        ),
    )  # fmt: skip

    def process(self, sample) -> None:
        sample.fields["gradient.png"] = gradient_magnitude(sample.image, blur=self.config.blur)
        facedata.record(sample, "gradient", f"sobel-blur{self.config.blur:g}")


def main(out: Path) -> None:
    maps = ("parsing", "mask", "gradient")
    report = build(
        BuildConfig(out=str(out), size=64, maps=maps, progress=False),
        SourceConfig(name="demo"),
        {"gradient": GradientConfig(blur=1.5)},
        overwrite=True,
    )
    print(f"built {report.written} samples with maps {', '.join(maps)}")
    checked = verify(out)
    print(f"verify: {checked.samples} samples, {len(checked.problems)} problems")
    grid = shard_grid(out, PreviewConfig(count=4, tile_size=64))
    save_rgb(out.parent / "plugin-preview.png", grid)
    print(f"preview: {out.parent / 'plugin-preview.png'}")
    line = next(x for x in format_summary(summarize(out)).splitlines() if "gradient" in x)
    print(f"inspect: {line.strip()}")
    counts = export_folders(out, out.parent / "plugin-export", fields=("gradient.png",),
                            overwrite=True, progress=False)  # fmt: skip
    print(f"export: {sum(counts.values())} gradient.png files")
    item = next(iter(ShardDataset(out, fields=("jpg", "gradient.png"), size=32, shuffle=0)))
    print(f"dataset: gradient {tuple(item['gradient'].shape)} {item['gradient'].dtype}")
    if not checked.ok:
        sys.exit("\n".join(checked.problems))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
