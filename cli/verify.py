"""``facedata verify``: check a build against its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from facedata.shards.verify import verify

from .common import user_errors


def verify_command(
    out: Path = typer.Argument(..., help="Build folder (holds manifest.json)."),
    max_problems: int = typer.Option(20, "--max-problems", help="Problems to print."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the whole report as JSON (exit status as without it)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Check the manifest and every shard: listing, counts, checksums, stats and every sample's
    fields (shapes, ranges, label ids), keys, splits and seed."""
    with user_errors():
        report = verify(out, progress=progress and not as_json)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for problem in report.problems[:max_problems]:
            typer.echo(problem, err=True)
    if not report.ok:
        if not as_json:
            typer.secho(
                f"{len(report.problems)} problems in {report.shards} shards",
                fg=typer.colors.RED,
                err=True,
            )
            if report.remedy:
                typer.echo(report.remedy, err=True)
        raise typer.Exit(1)
    if not as_json:
        typer.echo(f"ok: {report.shards} shards, {report.samples} samples")
