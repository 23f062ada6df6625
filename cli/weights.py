"""``facedata weights``: the network weight cache (list, fetch, add)."""

from __future__ import annotations

from pathlib import Path

import typer

from facedata import weights

from .common import user_errors

app = typer.Typer(
    help="Manage network weights (HED, parsing, VGG16) in the local cache.", no_args_is_help=True
)


@app.command("list")
def list_command() -> None:
    """List known weights and check each cached file against its published sha256.

    States: ok (the published file, or the pinned one where none is published), mismatch
    (corrupt or another file: exit 1), unverified (no published checksum and no pin yet),
    missing.
    """
    typer.echo(f"cache: {weights.cache_dir()}")
    bad = []
    for name, spec in sorted(weights.REGISTRY.items()):
        path = weights.cache_dir() / spec.filename
        state = weights.status(spec, path) if path.is_file() else "missing"
        bad += [path] if state == "mismatch" else []
        size = f"{spec.size:,} B" if spec.size else "size unknown"
        note = "" if spec.sha256 else "; no published checksum, pinned on first fetch"
        typer.echo(
            f"  {name:<18} {state:<10} {spec.filename:<22} {size:>16}  {spec.description}{note}"
        )
    if bad:
        typer.echo(f"{len(bad)} cached file(s) are not the published ones: delete them, then fetch")
        raise typer.Exit(1)


@app.command("fetch")
def fetch_command(name: str = typer.Argument(..., help="Weight name (see `list`).")) -> None:
    """Download a weight into the cache and verify its checksum."""
    with user_errors():
        typer.echo(str(weights.fetch(name)))


@app.command("add")
def add_command(
    name: str = typer.Argument(..., help="Weight name (see `list`)."),
    path: Path = typer.Argument(..., help="The downloaded file."),
) -> None:
    """Copy a weight file you downloaded elsewhere into the cache."""
    with user_errors():
        typer.echo(str(weights.add(name, path)))
