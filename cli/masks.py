"""``facedata masks``: write a fixed evaluation mask set (PNGs + masks.json)."""

from __future__ import annotations

from pathlib import Path

import typer

from facedata.masks import FAMILIES, MaskSpec, parse_buckets
from facedata.masks.evalset import published_max_coverage, write_mask_set

from .common import user_errors


def masks_command(
    kind: str = typer.Option(..., "--kind", help=f"Mask family: {', '.join(FAMILIES)}."),
    out: Path = typer.Option(..., "--out", help="Folder for the PNGs and masks.json."),
    size: int = typer.Option(512, "--size", help="Mask side in pixels."),
    count: int = typer.Option(1000, "--count", help="Number of masks."),
    seed: int = typer.Option(0, "--seed", help="Seed; mask k depends on (seed, k) only."),
    min_coverage: float = typer.Option(0.0, "--min-coverage", help="Redraw masks below this."),
    max_coverage: float | None = typer.Option(
        None,
        "--max-coverage",
        help="Redraw masks above this (default: the family's published evaluation rule, "
        "see --eval-rule; else 1).",
    ),
    eval_rule: bool = typer.Option(
        True,
        "--eval-rule/--no-eval-rule",
        help="Without --max-coverage, keep only masks the family's published evaluation sets "
        "keep (lama-*: at most 50% hole, as LaMa's gen_mask_dataset.py).",
    ),
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
        if max_coverage is None:
            max_coverage = published_max_coverage(kind) if eval_rule else 1.0
        spec = MaskSpec(
            kind, min_coverage=min_coverage, max_coverage=max_coverage, max_tries=max_tries
        )
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
