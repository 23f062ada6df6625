"""``facedata preview``: draw what a build generated, or what a mask family draws.

``--count``, ``--tile``, ``--split``, ``--size``, ``--seed`` and ``--histogram-count`` come
from :class:`MaskPreviewConfig`, the mask options (``--kind``, coverage bounds, tries) from
:class:`MaskSpec` (see ``cli/options.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from facedata.masks import MaskSpec
from facedata.preview.config import MaskPreviewConfig
from facedata.preview.edits import edits_grid
from facedata.preview.grid import save_rgb, shard_grid

from .common import user_errors
from .options import ConfigOptions, command, parameter

PREVIEW = ConfigOptions(MaskPreviewConfig, prefix="", group="preview")
MASK = ConfigOptions(MaskSpec, prefix="", group="mask")
#: Options of the command itself, not of a config.
RUN_OPTIONS = [
    parameter(
        "target",
        str,
        typer.Argument(
            ...,
            help="Build folder to preview, or the word `masks` (masks over the demo face) or "
            "`edits` (original | reference | edited label maps); a folder named so: ./masks.",
        ),
    ),
    parameter("out", Path, typer.Option(Path("preview.png"), "--out", help="Image file to write.")),
    parameter(
        "histogram",
        Path | None,
        typer.Option(
            None, "--histogram", help="masks: also write the coverage histogram to this image."
        ),
    ),
    parameter(
        "shards",
        Path | None,
        typer.Option(None, "--shards", help="edits: a build made with --maps parsing,edits."),
    ),
]


def run_preview(values: dict[str, Any]) -> None:
    """Write a grid: image | parsing | face | hair | mask | other maps; or masks over a face.

    `facedata preview masks --kind K` draws the first --count masks of family K over the demo
    face (exactly those a `--src demo` build with the same mask options gives its first sample)
    with coverage under each. `facedata preview edits --shards DIR` shows original | reference
    | edited label maps.
    """
    target, out = values.pop("target"), values.pop("out")
    histogram, shards = values.pop("histogram"), values.pop("shards")
    with user_errors():
        config = PREVIEW.make(values)
        if target == "masks":
            from facedata.preview.masks import mask_preview

            grid, hist = mask_preview(
                MASK.make(values), config, with_histogram=histogram is not None
            )
            if hist is not None:
                save_rgb(histogram, hist)
                typer.echo(f"wrote {histogram}")
        elif target == "edits":
            if shards is None:
                raise typer.BadParameter("`preview edits` reads a build: pass --shards DIR")
            grid = edits_grid(shards, config)
        else:
            grid = shard_grid(Path(target), config)
    save_rgb(out, grid)
    typer.echo(f"wrote {out} ({grid.shape[1]}x{grid.shape[0]})")


preview_command = command(run_preview, [*RUN_OPTIONS, *PREVIEW.parameters(), *MASK.parameters()])
