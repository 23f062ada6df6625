"""``facedata preview``: draw what a build generated."""

from __future__ import annotations

from pathlib import Path

import typer

from facedata.preview.edits import edits_grid
from facedata.preview.grid import save_rgb, shard_grid

from .common import user_errors


def preview_command(
    target: Path = typer.Argument(
        ..., help="Build folder to preview, or `edits` (original | reference | edited maps)."
    ),
    n: int = typer.Option(8, "--n", help="Number of samples (rows)."),
    out: Path = typer.Option(Path("preview.png"), "--out", help="Image file to write."),
    split: str = typer.Option(None, "--split", help="Only this split."),
    tile: int = typer.Option(160, "--tile", help="Tile side in pixels."),
    shards: Path = typer.Option(
        None, "--shards", help="With `edits`: a build made with --maps parsing,edits."
    ),
) -> None:
    """Write a grid: image | parsing (palette) | face | hair | mask | other maps."""
    with user_errors():
        if str(target) == "edits":
            if shards is None:
                raise typer.BadParameter("`preview edits` reads a build: pass --shards DIR")
            grid = edits_grid(shards, n=n, tile_size=tile, split=split)
        else:
            grid = shard_grid(target, n=n, tile_size=tile, split=split)
    save_rgb(out, grid)
    typer.echo(f"wrote {out} ({grid.shape[1]}x{grid.shape[0]})")
