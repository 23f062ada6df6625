"""Small quiet builds of a CelebAMask-HQ tree, shared by the build, scale, verify, reliability
and cluster tests."""

from __future__ import annotations

from facedata.pipeline import BuildConfig, build
from facedata.sources import SourceConfig

#: The maps these tests build: the annotation-derived ones, fast at any size.
MAPS = ("parsing", "face", "hair", "mask")


def build_tree(out, root, **options):
    """Build the CelebAMask-HQ tree ``root`` into ``out``; ``options`` are BuildConfig's."""
    options = {"progress": False, "maps": MAPS} | options
    return build(
        BuildConfig(out=str(out), **options), SourceConfig("celebamask-hq", root=str(root))
    )


def shard_bytes(out):
    """Every shard of a build, relative path → bytes."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.glob("*/*.tar"))}
