"""``facedata masks``: write a fixed evaluation mask set (PNGs + masks.json)."""

from __future__ import annotations

from pathlib import Path

import typer

from facedata.masks import FAMILIES, MaskSpec, parse_buckets
from facedata.masks.evalset import write_mask_set

from .common import user_errors


def masks_command(
    kind: str = typer.Option(..., "--kind", help=f"Mask family: {', '.join(FAMILIES)}."),
    out: Path = typer.Option(..., "--out", help="Folder for the PNGs and masks.json."),
    size: int = typer.Option(512, "--size", help="Mask side in pixels."),
    count: int = typer.Option(1000, "--count", help="Number of masks."),
    seed: int = typer.Option(0, "--seed", help="Seed; mask k depends on (seed, k) only."),
    min_coverage: float = typer.Option(0.0, "--min-coverage", help="Redraw masks below this."),
    max_coverage: float = typer.Option(1.0, "--max-coverage", help="Redraw masks above this."),
    buckets: str = typer.Option(
        None,
        "--buckets",
        help="Balance over coverage buckets: 'all' or e.g. '10-20,20-30' (replaces the bounds).",
    ),
    max_tries: int = typer.Option(100, "--max-tries", help="Draws at most per kept mask."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a previous set in --out."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Write N masks (255 = hole) and masks.json: family, parameters, coverage, histogram."""
    with user_errors():
        spec = MaskSpec(kind, min_coverage, max_coverage, max_tries)
        index = write_mask_set(
            out,
            spec,
            size=size,
            count=count,
            seed=seed,
            buckets=parse_buckets(buckets) if buckets else None,
            overwrite=overwrite,
            progress=progress,
        )
    typer.echo(f"wrote {count} {kind} masks ({size}x{size}) and masks.json to {out}")
    typer.echo("  " + "  ".join(f"{b}%: {c}" for b, c in index["histogram"].items() if c))
    if index["missed"]:
        typer.secho(
            f"  {index['missed']} masks missed their coverage range after {max_tries} tries "
            "(kept the closest; flagged in_range: false)",
            fg=typer.colors.YELLOW,
            err=True,
        )
