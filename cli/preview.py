"""``facedata preview``: draw what a build generated, or what a mask family draws."""

from __future__ import annotations

from pathlib import Path

import typer

from facedata.preview.edits import edits_grid
from facedata.preview.grid import save_rgb, shard_grid

from .common import user_errors


def preview_command(
    target: str = typer.Argument(
        ...,
        help="Build folder to preview, or the word `masks` (masks over the demo face) or "
        "`edits` (original | reference | edited label maps); a folder named so: ./masks.",
    ),
    n: int = typer.Option(8, "--count", "--n", help="Number of samples (rows), or of masks."),
    out: Path = typer.Option(Path("preview.png"), "--out", help="Image file to write."),
    split: str = typer.Option(None, "--split", help="Only this split."),
    tile: int = typer.Option(160, "--tile", help="Tile side in pixels."),
    kind: str = typer.Option("scfegan", "--kind", help="masks: family or 'mixed'."),
    size: int = typer.Option(512, "--size", help="masks: side the masks are drawn at."),
    seed: int = typer.Option(0, "--seed", help="masks: global seed (as in `facedata build`)."),
    histogram: Path = typer.Option(
        None, "--histogram", help="masks: also write the coverage histogram to this image."
    ),
    histogram_count: int = typer.Option(
        1000, "--histogram-count", help="masks: masks drawn for the histogram."
    ),
    shards: Path = typer.Option(
        None, "--shards", help="edits: a build made with --maps parsing,edits."
    ),
) -> None:
    """Write a grid: image | parsing | face | hair | mask | other maps; or masks over a face.

    `facedata preview masks --kind K` draws the first --n masks of family K over the demo face
    (exactly those a `--src demo` build gives its first sample) with coverage under each.
    `facedata preview edits --shards DIR` shows original | reference | edited label maps.
    """
    with user_errors():
        if target == "masks":
            from facedata.masks import MaskSpec
            from facedata.preview.masks import mask_preview

            count = histogram_count if histogram else 0
            grid, hist = mask_preview(
                MaskSpec(kind), n=n, size=size, seed=seed, tile_size=tile, histogram_count=count
            )
            if hist is not None:
                save_rgb(histogram, hist)
                typer.echo(f"wrote {histogram}")
        elif target == "edits":
            if shards is None:
                raise typer.BadParameter("`preview edits` reads a build: pass --shards DIR")
            grid = edits_grid(shards, n=n, tile_size=tile, split=split)
        else:
            grid = shard_grid(Path(target), n=n, tile_size=tile, split=split)
    save_rgb(out, grid)
    typer.echo(f"wrote {out} ({grid.shape[1]}x{grid.shape[0]})")
