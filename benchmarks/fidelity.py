"""How faithful facedata is to the published references: masks, HOG glyphs, colour maps.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/fidelity.py               # all three parts
    PYTHONPATH=$PWD python benchmarks/fidelity.py --part masks --n 2000 --seeds 5
    PYTHONPATH=$PWD python benchmarks/fidelity.py --part hog --hog-step 1
    PYTHONPATH=$PWD python benchmarks/fidelity.py --part color --photos DIR --color-variants

Masks: for every family with a public generator (LaMa thin/medium/thick, DeepFillv2 strokes,
box and their union, at 256 and 512), the two-sample Kolmogorov-Smirnov statistic D and its
p-value between the hole fractions of ``--n`` facedata masks and the 5,000 masks of the
reference code stored in ``tests/data/mask_coverage_reference.npz`` (``tests/data/README.md``
says how they were made), at seed 0 and as the median over ``--seeds`` seeds. LaMa is
compared twice: the raw generator (build masks) and the evaluation-set rule
(``facedata masks``). Target: p > 0.05 everywhere.

HOG: ``render_glyphs`` of facedata's histograms against ``skimage.feature.hog(visualize=True)``
on the 512² astronaut, for square cells 4-32 and 2-18 orientations (every ``--hog-step``-th
pair); a pair agrees when the largest difference is below 1e-5 of the image's maximum.

Colour: the default route (and the grid alone) against SC-FEGAN's full-resolution schedule, per
segment (largest channel difference of the two fill colours), on real photographs aligned and
parsed from their landmarks (:mod:`tests.color_reference`): skimage's astronaut and every photo
under ``--photos``; CPU time on one thread, the full schedule timed in the same run.
``--color-variants`` adds the cheaper variants docs/color.md compares (a smaller crop margin,
one crop per segment, crops on a factor-2 grid). Target: at most 7 levels on every segment
covering at least 0.5 % of the image.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from scipy.stats import ks_2samp

from facedata.features import color, hog
from facedata.labels import CLASSES
from tests.color_reference import LARGE, photo_case, segment_errors
from tests.mask_reference import facedata_counts, reference_counts

SIZE = 512


def masks(n: int, seeds: int) -> bool:
    """Print one KS line per case; True when every case's median p-value exceeds 0.05.

    For a faithful generator the p-value is uniform on [0, 1] whatever ``n``, so about one case
    in twenty falls below 0.05 at any one seed by chance; the median over ``seeds`` seeds is the
    figure to judge (a real difference drives every seed's p-value down).
    """
    print(f"mask coverage against the reference generators ({n} facedata masks per case)")
    print(
        f"  {'case':22s} {'ref mean':>8s} {'ours':>6s} {'KS D':>6s} {'p':>7s} "
        f"{f'median p ({seeds} seeds)':>20s}"
    )
    ok = True
    for key, ref in reference_counts().items():
        size = int(key.split("-")[2 if key.startswith("lama") else -1])
        runs = [facedata_counts(key, n, seed) for seed in range(seeds)]
        first = ks_2samp(runs[0], ref)
        median = float(np.median([ks_2samp(ours, ref).pvalue for ours in runs]))
        ok &= median > 0.05
        print(
            f"  {key:22s} {ref.mean() / size**2:8.3f} {runs[0].mean() / size**2:6.3f} "
            f"{first.statistic:6.3f} {first.pvalue:7.3f} {median:20.3f}"
            f"{'' if median > 0.05 else '  <- below 0.05'}"
        )
    return ok


def glyphs(step: int) -> bool:
    """Print how many cell/orientation pairs agree with skimage; True when all do."""
    from skimage import data
    from skimage.feature import hog as skimage_hog

    image = cv2.resize(data.astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    pairs = [(c, o) for c in range(4, 33) for o in range(2, 19)][::step]
    worst, failed = 0.0, []
    for cell, orientations in pairs:
        options = {"orientations": orientations, "pixels_per_cell": (cell, cell)}
        _, expected = skimage_hog(image, channel_axis=-1, visualize=True, **options)
        hist = hog.cell_histograms(image, channel_axis=-1, **options)
        got = hog.render_glyphs(hist, pixels_per_cell=(cell, cell), shape=image.shape[:2])
        error = float(np.abs(got - expected).max() / expected.max())
        worst = max(worst, error)
        if error >= 1e-5:
            failed.append(f"{cell}x{cell}/{orientations}")
    print(f"HOG glyphs against skimage visualize=True on the {SIZE}² astronaut")
    print(
        f"  {len(pairs) - len(failed)} of {len(pairs)} cell/orientation pairs agree "
        f"(largest difference {worst:.1e} of the maximum){': ' if failed else ''}"
        f"{', '.join(failed[:20])}"
    )
    return not failed


def photos(folder: str | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, aligned 512² image, landmark label map) of the astronaut and ``folder``'s photos."""
    from skimage import data

    from facedata.align.detect import LandmarkDetector

    detector = LandmarkDetector()
    images = [("astronaut", data.astronaut())]
    if folder:
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
                bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if bgr is not None:
                    images.append((str(path.relative_to(folder)), bgr[..., ::-1].copy()))
    cases = []
    for name, image in images:
        case = photo_case(image, detector, SIZE)
        if case is not None:
            cases.append((name, *case))
    return cases


#: The coarse grid alone (no full-resolution crops).
GRID = color.Smoothing(exact_below=0)


def crop_route(image: np.ndarray, labels: np.ndarray, *, factor: int, per_segment: bool):
    """The grid, then every segment under ``EXACT_BELOW`` of the image filled from its crop
    smoothed with grid ``factor`` (1: full resolution), one crop per segment or the default's
    merged crops: the cheaper variants of the default that docs/color.md compares."""
    out = color.color_map(image, labels, smoothing=GRID)
    counts = np.bincount(labels.ravel())
    small = np.flatnonzero((counts > 0) & (counts < color.EXACT_BELOW * labels.size))
    groups = [np.array([k]) for k in small] if per_segment else [small]
    for group in groups:
        for (y0, y1, x0, x1), members in color._crops(labels, group, color.EXACT_MARGIN):
            window = labels[y0:y1, x0:x1]
            crop = image[y0:y1, x0:x1]
            filled = color.color_map(crop, window, smoothing=replace(GRID, factor=factor))
            at = np.isin(window, members)
            out[y0:y1, x0:x1][at] = filled[at]
    return out


def cone_share(labels: np.ndarray, s: color.Smoothing = color.SCFEGAN) -> float:
    """Share of the full schedule's pixel passes that exact shrinking crops would still run:
    pass ``k`` only matters within ``(passes - k) * diameter // 2`` of the small segments."""
    counts = np.bincount(labels.ravel())
    small = np.isin(labels, np.flatnonzero(counts < color.EXACT_BELOW * labels.size))
    rows, cols = np.flatnonzero(small.any(1)), np.flatnonzero(small.any(0))
    (height, width), reach = labels.shape, s.diameter // 2
    area = sum(
        (min(height, rows[-1] + 1 + reach * j) - max(0, rows[0] - reach * j))
        * (min(width, cols[-1] + 1 + reach * j) - max(0, cols[0] - reach * j))
        for j in range(s.passes)
    )
    return area / (s.passes * height * width)


def colour(folder: str | None, variants: bool) -> bool:
    """Print, per route, the CPU time (one thread) and the per-segment error against the full
    schedule on real photographs; True when the default keeps 7 levels on large segments."""
    cv2.setNumThreads(1)  # one core; CPU time, so other load on the machine counts less
    cases = photos(folder)
    routes = {
        "default": lambda image, labels: color.color_map(image, labels),
        "grid only": lambda image, labels: color.color_map(image, labels, smoothing=GRID),
    }
    if variants:
        margin8 = replace(color.Smoothing(), exact_margin=8)
        routes |= {
            "margin 8": lambda image, labels: color.color_map(image, labels, smoothing=margin8),
            "crop/segment": partial(crop_route, factor=1, per_segment=True),
            "grid-2 crops": partial(crop_route, factor=2, per_segment=False),
        }
    errors = {name: [] for name in routes}
    times = {name: [] for name in ["full", *routes]}
    areas, worst = [], dict.fromkeys(routes, (-1, ""))
    for name, image, labels in cases:
        start = time.process_time()
        full = color.color_map(image, labels, smoothing=color.SCFEGAN)
        times["full"].append(time.process_time() - start)
        present = np.unique(labels)
        for route, fn in routes.items():
            start = time.process_time()
            got = fn(image, labels)
            times[route].append(time.process_time() - start)
            e, a = segment_errors(got, full, labels)
            errors[route].append(e)
            big = np.flatnonzero(a >= LARGE)
            if big.size and e[big].max() > worst[route][0]:
                k = big[np.argmax(e[big])]
                where = f"{name}, {CLASSES[present[k]]}, {a[k]:.1%} of the image"
                worst[route] = (int(e[k]), where)
        areas.append(a)
    a = np.concatenate(areas)
    big = a >= LARGE
    full_ms = 1000 * np.median(times["full"])
    print(f"colour maps of {len(cases)} real photographs at {SIZE}² (landmark parsing), ms of")
    print("CPU per image on one thread (median), per-segment largest channel difference against")
    print(f"the full schedule; {big.sum()} segments >= 0.5% of the image, {a.size} in all")
    print(f"  {'full schedule':14s} {full_ms:7.1f} ms")
    for route in routes:
        e = np.concatenate(errors[route])
        eb = e[big]
        ms = 1000 * np.median(times[route])
        bins = ", ".join(f"<={t}: {np.mean(eb <= t):.1%}" for t in (1, 3, 5, 7))
        print(
            f"  {route:14s} {ms:7.1f} ms ({full_ms / ms:5.1f}x)  large: max {eb.max()}, p95 "
            f"{np.percentile(eb, 95):.1f}, mean {eb.mean():.2f}, {bins}, >7: {(eb > 7).sum()}; "
            f"all: max {e.max()}, pixel-weighted mean {np.average(e, weights=a):.2f}"
        )
        print(f"  {'':14s} worst large segment: {worst[route][0]} ({worst[route][1]})")
    shares = [cone_share(labels) for _, _, labels in cases]
    print(
        f"  exact shrinking crops (same maps as the full schedule) would still run "
        f"{np.mean(shares):.0%} of its pixel passes (range {min(shares):.0%}-{max(shares):.0%})"
    )
    return bool(np.concatenate(errors["default"])[big].max() <= 7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("all", "masks", "hog", "color"), default="all")
    parser.add_argument("--n", type=int, default=2000, help="facedata masks per case")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0.. for the median p")
    parser.add_argument("--hog-step", type=int, default=7, help="every k-th cell/bin pair")
    parser.add_argument("--photos", help="a folder of face photographs for the colour part")
    parser.add_argument(
        "--color-variants", action="store_true", help="also time the cheaper colour variants"
    )
    args = parser.parse_args()
    if args.part in ("all", "masks"):
        masks(args.n, args.seeds)
    if args.part in ("all", "hog"):
        glyphs(args.hog_step)
    if args.part in ("all", "color"):
        colour(args.photos, args.color_variants)


if __name__ == "__main__":
    main()
