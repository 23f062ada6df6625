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
    """List known weights, whether they are cached, and where."""
    typer.echo(f"cache: {weights.cache_dir()}")
    for name, spec in sorted(weights.REGISTRY.items()):
        state = "cached" if weights.available(name) else "missing"
        typer.echo(f"  {name:<18} {state:<8} {spec.filename:<28} {spec.description}")


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
