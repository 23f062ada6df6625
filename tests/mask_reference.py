"""Hole-pixel counts of the reference mask generators, and facedata's counts for the same cases.

``tests/data/mask_coverage_reference.npz`` holds, per case, the hole-pixel counts of 5,000
masks drawn by the published generators themselves (see ``tests/data/README.md`` for the
commits and settings). Shared by ``tests/test_masks_fidelity.py`` and
``benchmarks/fidelity.py``, which compare them with :func:`facedata_counts` by a two-sample
Kolmogorov-Smirnov test.

Keys: ``lama-{thin,medium,thick}-{256,512}-raw`` (LaMa's mask generator as it trains),
``lama-...-eval`` (its evaluation-set rule: five variants, those over 50 % dropped, one kept),
``deepfill-strokes-{256,512}``, ``deepfill-box-{256,512}`` and ``deepfill-{256,512}`` (their
union, as DeepFillv2 trains).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facedata.masks import DeepFillMaskConfig, MaskSpec, make_mask
from facedata.masks.deepfill import deepfill_box
from facedata.masks.evalset import published_max_coverage

REFERENCE = Path(__file__).parent / "data" / "mask_coverage_reference.npz"


def reference_counts() -> dict[str, np.ndarray]:
    """Case key → the reference generator's hole-pixel counts (uint32).

    An ``eval`` case pools its stored sample with the ``raw`` masks of the same preset that
    cover at most 50 %: keeping one of five independent variants at random among those at
    most 50 % is a draw of the generator conditioned on at most 50 %, so those raw masks are
    further draws of the same distribution (about 1.5-2x the reference sample).
    """
    with np.load(REFERENCE) as data:
        counts = {key: data[key] for key in data.files}
    for key in counts:
        if key.endswith("-eval"):
            family, size, _ = key.rsplit("-", 2)
            raw = counts[f"{family}-{size}-raw"]
            limit = published_max_coverage(family) * int(size) ** 2
            counts[key] = np.sort(np.concatenate([counts[key], raw[raw <= limit]]))
    return counts


def facedata_counts(key: str, n: int, seed: int = 0) -> np.ndarray:
    """Hole-pixel counts of ``n`` facedata masks for a case key of :func:`reference_counts`.

    LaMa's ``raw`` cases draw with the family defaults (as a build does), its ``eval`` cases
    with the published 50 % rule (as ``facedata masks`` does by default).
    """
    family, *rest = key.rsplit("-", 2) if key.startswith("lama") else key.rsplit("-", 1)
    size = int(rest[0])
    rng = np.random.default_rng(seed)
    if family.startswith("lama"):
        limit = published_max_coverage(family) if rest[1] == "eval" else 1.0
        spec = MaskSpec(family, max_coverage=limit, max_tries=1000)
        masks = (spec.draw(rng, size, size)[0] for _ in range(n))
    elif family == "deepfill-strokes":
        config = DeepFillMaskConfig(box=False)
        masks = (make_mask("deepfill", size, size, rng, config=config)[0] for _ in range(n))
    elif family == "deepfill-box":
        shrink = DeepFillMaskConfig().box_shrink
        boxes = (deepfill_box(size, size, rng, shrink) for _ in range(n))
        return np.array([(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes])
    else:
        masks = (make_mask(family, size, size, rng)[0] for _ in range(n))
    return np.array([np.count_nonzero(m) for m in masks])
