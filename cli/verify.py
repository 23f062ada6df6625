"""``facedata verify``: check a build against its manifest."""

from __future__ import annotations

from pathlib import Path

import typer

from facedata.shards.verify import verify

from .common import user_errors


def verify_command(
    out: Path = typer.Argument(..., help="Build folder (holds manifest.json)."),
    max_problems: int = typer.Option(20, "--max-problems", help="Problems to print."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Check every shard's sha256, decode every field, check shapes, ranges and label ids."""
    with user_errors():
        report = verify(out, progress=progress)
    for problem in report.problems[:max_problems]:
        typer.echo(problem, err=True)
    if not report.ok:
        typer.secho(
            f"{len(report.problems)} problems in {report.shards} shards",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"ok: {report.shards} shards, {report.samples} samples")
