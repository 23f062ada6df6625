"""``facedata demo-data``: write the embedded demo faces as a CelebAMask-HQ tree."""

from __future__ import annotations

from pathlib import Path

import typer

from facedata.sources.demo import DEMO_COUNT, write_demo_tree


def demo_data_command(
    out: Path = typer.Option(..., "--out", help="Folder to write the tree into."),
    count: int = typer.Option(DEMO_COUNT, "--count", help="Number of faces."),
    seed: int = typer.Option(0, "--seed", help="Drawing seed."),
) -> None:
    """Write the procedurally drawn demo faces in the CelebAMask-HQ layout."""
    write_demo_tree(out, count=count, seed=seed)
    typer.echo(f"wrote {count} demo faces to {out} (read it with --src celebamask-hq --root {out})")
