"""``facedata inspect``: what a build holds."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from facedata.shards.inspect import format_summary, summarize

from .common import user_errors


def inspect_command(
    out: Path = typer.Argument(..., help="Build folder (holds manifest.json)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Show counts per split, fields and sizes, failures and the build configuration."""
    with user_errors():
        summary = summarize(out)
    typer.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))
