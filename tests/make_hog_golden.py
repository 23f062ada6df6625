"""Write ``tests/data/hog_glyphs.npz``: scikit-image's HOG glyph geometry over a sweep.

Run from the repository root (once; the file is committed)::

    PYTHONPATH=$PWD python tests/make_hog_golden.py

For square cells of 4-32 pixels and 2-18 orientations (a dense half of that sweep: the pairs
with ``cell + orientations`` even, every cell size and every orientation count present, to keep
the file small), ``skimage.feature.hog(visualize=True)`` draws the glyphs of a 512-pixel-tall
strip one cell wide (every cell row of a 512² image) and of a 512-pixel-wide strip one cell tall
(every cell column), with every cell's histogram set to ``2 ** o`` in bin ``o``: each glyph
pixel then holds, bit by bit, which bins' segments pass through it. A segment's row ends depend
only on its cell row and its column ends only on its cell column, so the two strips pin down
every segment of the 512² image. Only the histogram is replaced (scikit-image's own drawing code
runs); the image content does not matter.

Arrays: ``tall-{c}`` (n, 512, c) and ``wide-{c}`` (n, c, 512) uint32, one slice per orientation
count of :func:`sampled_orientations` ``(c)``; ``meta`` holds the scikit-image version.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import skimage
import skimage.feature._hog as skimage_hog_module

OUT = Path(__file__).parent / "data" / "hog_glyphs.npz"
CELLS = range(4, 33)
ORIENTATIONS = range(2, 19)
SIDE = 512


def sampled_orientations(cell: int) -> list[int]:
    """The orientation counts stored for a cell size."""
    return [o for o in ORIENTATIONS if (cell + o) % 2 == 0]


class _PowersOfTwo:
    """Stands in for ``_hoghistogram``: bin ``o`` of every cell holds ``2 ** o``."""

    @staticmethod
    def hog_histograms(*args):
        histogram = args[-1]
        histogram[:] = 2.0 ** np.arange(histogram.shape[-1])


def skimage_bits(shape: tuple[int, int], cell: int, orientations: int) -> np.ndarray:
    """scikit-image's glyph image of a ``shape`` image with power-of-two histograms."""
    with mock.patch.object(skimage_hog_module, "_hoghistogram", _PowersOfTwo):
        _, glyphs = skimage.feature.hog(
            np.zeros(shape),
            orientations=orientations,
            pixels_per_cell=(cell, cell),
            cells_per_block=(1, 1),
            visualize=True,
        )
    return glyphs.astype(np.uint32)


def main() -> None:
    arrays = {"meta": np.array([f"scikit-image {skimage.__version__}"])}
    for cell in CELLS:
        arrays[f"tall-{cell}"] = np.stack(
            [skimage_bits((SIDE, cell), cell, o) for o in sampled_orientations(cell)]
        )
        arrays[f"wide-{cell}"] = np.stack(
            [skimage_bits((cell, SIDE), cell, o) for o in sampled_orientations(cell)]
        )
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
