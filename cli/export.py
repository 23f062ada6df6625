"""``facedata export``: shards → folders, a Hugging Face dataset, LaMa or ControlNet layouts."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import split_list, user_errors


def export_command(
    build: Path = typer.Argument(..., help="Build folder to export."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    format: str = typer.Option(
        "folders",
        "--format",
        help="Output layout: folders (one folder per field), hf (parquet for "
        "datasets.load_dataset), lama (LaMa's train/val/eval folders) or controlnet "
        "(image, text, conditioning_image for diffusers' train_controlnet.py).",
    ),
    fields: str = typer.Option(
        None, "--fields", help="Comma-separated fields (default all; folders and hf)."
    ),
    splits: str = typer.Option(None, "--splits", help="Comma-separated splits (default all)."),
    conditioning: str = typer.Option(
        "sketch.png",
        "--conditioning",
        help="controlnet: the map used as conditioning_image (sketch.png, parsing.png in the "
        "official palette, hog.png, color.png, ...).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Write a finished build in a layout another trainer reads (see docs/data-loading.md)."""
    from facedata.data.exports import EXPORTS
    from facedata.errors import ConfigError

    with user_errors():
        if format not in EXPORTS:
            raise ConfigError(f"--format {format!r}; choose one of {', '.join(EXPORTS)}")
        options = {"splits": split_list(splits) if splits else None}
        if format in ("folders", "hf"):
            options["fields"] = split_list(fields) if fields else None
        elif fields:
            raise ConfigError(f"--fields applies to --format folders and hf, not {format}")
        if format == "controlnet":
            options["conditioning"] = conditioning
        counts = EXPORTS[format](build, out, overwrite=overwrite, progress=progress, **options)
    typer.echo(", ".join(f"{n} {split}" for split, n in counts.items()) + f" samples in {out}")
