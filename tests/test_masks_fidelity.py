"""Mask families against their published generators (LaMa, DeepFillv2).

The reference hole-pixel counts were drawn once by the reference code itself (see
``tests/data/README.md``); here facedata's coverage at a fixed seed must pass a two-sample
Kolmogorov-Smirnov test against them, and the old, unfaithful behaviours must fail it.
"""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
from scipy.stats import ks_2samp
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.masks import LAMA_PRESETS, DeepFillMaskConfig, MaskSpec, deepfill_mask, lama_mask
from facedata.masks.deepfill import deepfill_box
from facedata.masks.evalset import published_max_coverage
from tests.mask_reference import facedata_counts, reference_counts

REFERENCE = reference_counts()
#: Masks per case here (the benchmark draws 2,000).
N = 600


def ks_p(ours: np.ndarray, key: str) -> float:
    return ks_2samp(ours, REFERENCE[key]).pvalue


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_coverage_follows_the_reference_generator(key):
    # Seed 0 is fixed. A faithful generator's p-value is uniform, so 0.001 leaves chance
    # alone; the old behaviours fall far below it (next test).
    assert ks_p(facedata_counts(key, N, seed=0), key) > 0.001


def test_the_ks_check_rejects_the_old_stroke_count_and_width_scaling():
    # LaMa medium at 256 with strokes in [min, max] (the old draw) instead of [min, max + 1].
    medium = LAMA_PRESETS["medium"]
    old = replace(medium, max_strokes=(medium.max_strokes[0] - 1, medium.max_strokes[1] - 1))
    rng = np.random.default_rng(0)
    counts = [np.count_nonzero(lama_mask(256, 256, rng, config=old)[0]) for _ in range(N)]
    assert ks_p(np.array(counts), "lama-medium-256-raw") < 0.001
    # DeepFillv2 at 512 with widths doubled (the old default width_reference=256).
    scaled = DeepFillMaskConfig(box=False, width_reference=256)
    rng = np.random.default_rng(0)
    counts = [np.count_nonzero(deepfill_mask(512, 512, rng, config=scaled)[0]) for _ in range(N)]
    assert ks_p(np.array(counts), "deepfill-strokes-512") < 0.001


def test_lama_draws_min_to_max_plus_one_strokes():
    strokes_only = replace(LAMA_PRESETS["thick"], box_weight=0.0)
    rng = np.random.default_rng(0)
    counts = {lama_mask(256, 256, rng, config=strokes_only)[1]["strokes"] for _ in range(300)}
    assert counts == {1, 2, 3, 4, 5, 6}  # min_times 1, max_times 5


def test_deepfill_box_shrinks_opposite_sides_by_one_delta_per_axis():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        x0, y0, x1, y1 = deepfill_box(240, 256, rng, 1 / 16)
        dx, dy = (128 - (x1 - x0)) / 2, (120 - (y1 - y0)) / 2
        assert dx == int(dx) and dy == int(dy)  # the same delta on both sides
        assert 0 <= dx <= 16 and 0 <= dy <= 15
        # The unshrunk box's corner is in [0, side - half) (tf.random_uniform's open bound).
        assert 0 <= x0 - dx < 128 and 0 <= y0 - dy < 120
        seen.add((dx, dy))
    assert {0, 16} <= {d for d, _ in seen} and len(seen) > 100


def test_deepfill_width_scaling_is_an_explicit_option():
    default = DeepFillMaskConfig(box=False, flip=False)
    scaled = replace(default, width_reference=256)
    for i in range(10):
        plain, _ = deepfill_mask(512, 512, np.random.default_rng(i), config=default)
        wide, _ = deepfill_mask(512, 512, np.random.default_rng(i), config=scaled)
        # Same vertices, a brush twice as wide: the plain strokes lie inside the wide ones.
        assert (wide[plain > 0] > 0).mean() > 0.99 and wide.sum() > 1.5 * plain.sum()


def test_published_rule_is_lama_only():
    assert published_max_coverage("lama-thin") == 0.5
    assert published_max_coverage("deepfill") == 1.0 and published_max_coverage("mixed") == 1.0
    # Build masks keep the raw generator: the spec's default bound is 1.
    assert MaskSpec("lama-thick").max_coverage == 1.0


def test_masks_command_applies_lama_evaluation_rule_unless_switched_off(tmp_path):
    runner = CliRunner()
    base = ["masks", "--kind", "lama-thick", "--size", "64", "--count", "40", "--no-progress"]
    coverages = {}
    for flag in ("--eval-rule", "--no-eval-rule"):
        out = tmp_path / flag
        result = runner.invoke(app, [*base, flag, "--out", str(out)])
        assert result.exit_code == 0, result.output
        index = json.loads((out / "masks.json").read_text())
        assert index["spec"]["max_coverage"] == (0.5 if flag == "--eval-rule" else 1.0)
        coverages[flag] = [e["coverage"] for e in index["masks"]]
        png = cv2.imread(str(out / index["masks"][0]["file"]), cv2.IMREAD_UNCHANGED)
        assert (png > 0).mean() == pytest.approx(coverages[flag][0], abs=1e-6)
    assert max(coverages["--eval-rule"]) <= 0.5
    assert max(coverages["--no-eval-rule"]) > 0.5  # a third of raw thick masks exceed 50 %
    explicit = runner.invoke(app, [*base, "--max-coverage", "0.3", "--out", str(tmp_path / "c")])
    assert explicit.exit_code == 0, explicit.output
    index = json.loads((tmp_path / "c" / "masks.json").read_text())
    assert index["spec"]["max_coverage"] == 0.3
