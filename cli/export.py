"""``facedata export``: shards → plain folders for trainers that read image files."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import split_list, user_errors


def export_command(
    build: Path = typer.Argument(..., help="Build folder to export."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    format: str = typer.Option("folders", "--format", help="Output layout: folders."),
    fields: str = typer.Option(None, "--fields", help="Comma-separated fields (default all)."),
    splits: str = typer.Option(None, "--splits", help="Comma-separated splits (default all)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Write OUT/<split>/<field>/<key>.<ext>: one folder per field, files named by sample key."""
    from facedata.data.export import FORMATS, export_folders
    from facedata.errors import ConfigError

    with user_errors():
        if format not in FORMATS:
            raise ConfigError(f"--format {format!r}; choose one of {', '.join(FORMATS)}")
        counts = export_folders(
            build,
            out,
            fields=split_list(fields) if fields else None,
            splits=split_list(splits) if splits else None,
            overwrite=overwrite,
            progress=progress,
        )
    typer.echo(", ".join(f"{n} {split}" for split, n in counts.items()) + f" samples in {out}")
