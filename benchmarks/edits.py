"""Speed of the label-map interpolation against the straightforward dense computation.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/edits.py                # ~15 s
    PYTHONPATH=$PWD python benchmarks/edits.py --pairs 10 --rounds 5

Pairs of consecutive drawn demo faces' label maps at 512 x 512 are interpolated at factors
0.3 and 0.7 by :func:`facedata.features.edits.interpolate_labels` and by
``tests/edits_reference.py`` (19 full-image fields, SciPy's exact nearest fill, full-image
shifts, ``np.argmax``), interleaved. A time is the best of ``--repeat`` calls; the table
shows medians and the range of the per-pair ratios over all rounds, and how many pixels of
the two results differ (ties between fields broken differently by float rounding).
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from benchmarks.timing import best_ms
from facedata.features.edits import interpolate_labels
from facedata.pipeline.maps import resize_labels
from facedata.sources import SourceConfig, get_source
from facedata.sources.demo import write_demo_tree
from tests.edits_reference import dense_interpolation

SIZE = 512


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=4, help="pairs of demo faces (default 4)")
    parser.add_argument("--repeat", type=int, default=2, help="calls per timing (best kept)")
    parser.add_argument("--rounds", type=int, default=2, help="timings per pair and factor")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = write_demo_tree(tmp, count=args.pairs + 1)
        source = get_source(SourceConfig(name="celebamask-hq", root=str(root)))
        maps = [resize_labels(source.load(ref).parsing, SIZE) for ref in source.refs()]

    rows = []
    for _ in range(args.rounds):
        for a, b in zip(maps, maps[1:]):
            for factor in (0.3, 0.7):
                slow = best_ms(lambda: dense_interpolation(a, b, factor), args.repeat)  # noqa: B023
                fast = best_ms(lambda: interpolate_labels(a, b, factor=factor), args.repeat)  # noqa: B023
                differ = int((dense_interpolation(a, b, factor) !=
                              interpolate_labels(a, b, factor=factor)).sum())  # fmt: skip
                rows.append((slow, fast, differ))
    table = np.array(rows)
    ratio = table[:, 0] / table[:, 1]
    print(f"{len(maps) - 1} pairs of {SIZE}² demo label maps, factors 0.3 and 0.7, "
          f"{args.rounds} rounds")  # fmt: skip
    print(f"  dense reference  {np.median(table[:, 0]):6.1f} ms")
    print(f"  interpolate      {np.median(table[:, 1]):6.1f} ms   "
          f"ratio {np.median(ratio):.1f}x [{ratio.min():.1f}-{ratio.max():.1f}]")  # fmt: skip
    print(f"  differing pixels per map: median {np.median(table[:, 2]):.0f}, "
          f"max {table[:, 2].max():.0f} of {SIZE * SIZE}")  # fmt: skip


if __name__ == "__main__":
    main()
