"""``facedata preview``: draw what a build generated."""

from __future__ import annotations

from pathlib import Path

import typer

from facedata.preview.grid import save_rgb, shard_grid

from .common import user_errors


def preview_command(
    target: Path = typer.Argument(..., help="Build folder to preview."),
    n: int = typer.Option(8, "--n", help="Number of samples (rows)."),
    out: Path = typer.Option(Path("preview.png"), "--out", help="Image file to write."),
    split: str = typer.Option(None, "--split", help="Only this split."),
    tile: int = typer.Option(160, "--tile", help="Tile side in pixels."),
) -> None:
    """Write a grid: image | parsing (palette) | face | hair | mask | other maps."""
    with user_errors():
        grid = shard_grid(target, n=n, tile_size=tile, split=split)
    save_rgb(out, grid)
    typer.echo(f"wrote {out} ({grid.shape[1]}x{grid.shape[0]})")
