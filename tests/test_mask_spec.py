"""MaskSpec carries its family's parameters, so a build's manifest records what drew its masks."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest

from facedata.errors import ConfigError
from facedata.masks import MaskSpec, make_mask
from facedata.masks.box import BoxMaskConfig
from facedata.masks.lama import PRESETS
from facedata.masks.scfegan import SCFEGANMaskConfig
from facedata.seeding import sample_rng
from facedata.shards.reader import load_manifest


def test_the_family_config_resolves_to_the_kinds_defaults():
    assert MaskSpec("lama-thick").family == PRESETS["thick"]
    assert asdict(MaskSpec("box"))["family"] == asdict(BoxMaskConfig())


def test_a_given_family_config_draws_the_masks():
    wide = BoxMaskConfig(min_boxes=4, max_boxes=4, min_size=0.5, max_size=0.5)
    spec = MaskSpec("box", family=wide)
    got, _ = spec.sample(0, "k", 0, 64, 64)
    want, _ = make_mask("box", 64, 64, sample_rng(0, "k", "mask", 0), config=wide)
    np.testing.assert_array_equal(got, want)
    default, _ = MaskSpec("box").sample(0, "k", 0, 64, 64)
    assert not np.array_equal(got, default)


def test_a_family_config_of_another_kind_is_refused():
    with pytest.raises(ConfigError, match="takes a BoxMaskConfig as its family config"):
        MaskSpec("box", family=SCFEGANMaskConfig())


def test_the_manifest_holds_the_resolved_mask_parameters(full_build):
    out, _ = full_build
    stages = load_manifest(out)["stages"]
    assert stages["mask"]["family"] == asdict(SCFEGANMaskConfig())
    assert stages["mask"]["count"] == 2
