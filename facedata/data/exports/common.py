"""What every export shares: checking the chosen splits and fields against the manifest."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ...errors import ConfigError
from ...shards.reader import load_manifest


def chosen(kind: str, names: Sequence[str] | None, available: Sequence[str], build) -> list[str]:
    """``names`` (all of ``available`` when ``None``), refused when one is not available.

    >>> chosen("split", None, ["train", "val"], "shards/")
    ['train', 'val']
    """
    names = list(available if names is None else names)
    if unknown := [n for n in names if n not in available]:
        raise ConfigError(
            f"{kind}(s) {', '.join(unknown)} not in {build}; it has {', '.join(available)}"
        )
    return names


def open_build(
    build: str | os.PathLike, out: str | os.PathLike, splits: Sequence[str] | None, overwrite: bool
) -> tuple[dict, list[str]]:
    """The build's manifest and the splits to export; refuses an existing ``out``."""
    manifest = load_manifest(build)
    names = chosen("split", splits, list(manifest["splits"]), build)
    if Path(out).exists() and not overwrite:
        raise ConfigError(f"{out} exists; pass --overwrite to replace it or choose another --out")
    return manifest, names
