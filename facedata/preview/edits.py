"""Contact sheet of simulated label edits: original | reference | edited, one row per sample."""

from __future__ import annotations

import os

import numpy as np

from ..errors import MissingDataError
from ..shards.reader import iter_samples
from .config import PreviewConfig
from .grid import label, tile

COLUMNS = ("original", "reference", "edited")


def edits_grid(out: str | os.PathLike, config: PreviewConfig = PreviewConfig()) -> np.ndarray:
    """Show the first ``config.count`` edited samples of a build made with
    ``--maps parsing,edits``.

    The reference's label map is looked up in the build itself: the edits stage draws it
    among the samples just before the edited one in the same shard, so it comes earlier in
    reading order. A reference that is not in the build (it failed after the edits stage)
    shows as a black tile.

    Returns
    -------
    (rows * config.tile_size, 3 * config.tile_size, 3) uint8 ndarray
        RGB image, label maps in the official palette; the first row carries the titles.

    Raises
    ------
    MissingDataError
        When the build has no ``parsing_edit.png`` or no ``parsing.png``.
    """
    seen: dict[str, np.ndarray] = {}
    rows = []
    for sample in iter_samples(out, config.split):
        if "parsing_edit.png" not in sample or "parsing.png" not in sample:
            raise MissingDataError(
                f"{out} lacks parsing.png or parsing_edit.png; the edits preview needs both: "
                "build it with --maps parsing,edits"
            )
        seen[sample["__key__"]] = sample["parsing.png"]
        blank = np.zeros_like(sample["parsing.png"])
        ref_key = sample["json"].get("edit", {}).get("reference")
        maps = (sample["parsing.png"], seen.get(ref_key, blank), sample["parsing_edit.png"])
        tiles = [tile(m, config.tile_size, style="labels") for m in maps]
        if not rows:
            tiles = [label(t, title) for t, title in zip(tiles, COLUMNS)]
        rows.append(np.concatenate(tiles, axis=1))
        if len(rows) == config.count:
            break
    if not rows:
        raise MissingDataError(f"{out} holds no samples")
    return np.concatenate(rows, axis=0)
