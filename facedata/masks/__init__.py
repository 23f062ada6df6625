"""Free-form mask generators, one module per family, behind one registry.

Every family is a function ``(height, width, rng, context, config) -> (mask, info)`` with a
frozen config dataclass of documented defaults; :data:`GENERATORS` binds each family name to
its defaults, so ``GENERATORS[kind](height, width, rng, context)`` draws one mask (uint8,
1 = hole). ``make_mask(kind, ...)`` does the same and names the family in ``info``.
:class:`MaskSpec` adds coverage control and per-sample seeding (see ``docs/masks.md``).
"""

from __future__ import annotations

from .base import MaskContext, MaskGenerator, coverage
from .bounds import BUCKET_NAMES, BUCKETS, CoverageRange, bucket_of, histogram, parse_buckets
from .box import BoxMaskConfig, box_mask
from .deepfill import DeepFillMaskConfig, deepfill_mask
from .gfc import GFCMaskConfig, gfc_mask
from .lama import PRESETS as LAMA_PRESETS
from .lama import LamaMaskConfig, lama_mask
from .mixed import MixedMaskConfig, mixed_mask
from .part import PartMaskConfig, part_mask
from .registry import FAMILIES, GENERATORS, make_mask
from .sampling import MaskSpec, pack_masks, unpack_masks
from .scfegan import SCFEGANMaskConfig, scfegan_mask

__all__ = [
    "BUCKETS",
    "BUCKET_NAMES",
    "FAMILIES",
    "GENERATORS",
    "BoxMaskConfig",
    "CoverageRange",
    "DeepFillMaskConfig",
    "GFCMaskConfig",
    "LAMA_PRESETS",
    "LamaMaskConfig",
    "MaskContext",
    "MaskGenerator",
    "MaskSpec",
    "MixedMaskConfig",
    "PartMaskConfig",
    "SCFEGANMaskConfig",
    "bucket_of",
    "box_mask",
    "coverage",
    "deepfill_mask",
    "gfc_mask",
    "histogram",
    "lama_mask",
    "make_mask",
    "mixed_mask",
    "pack_masks",
    "parse_buckets",
    "part_mask",
    "scfegan_mask",
    "unpack_masks",
]
