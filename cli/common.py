"""Helpers shared by the commands: logging set-up and turning library errors into exits."""

from __future__ import annotations

import contextlib
import logging

import typer

from facedata.errors import FacedataError


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )


@contextlib.contextmanager
def user_errors():
    """Show a :class:`FacedataError` as a message and exit 2, without a traceback."""
    try:
        yield
    except FacedataError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def split_list(value: str) -> tuple[str, ...]:
    """``"a,b, c"`` → ``("a", "b", "c")``."""
    return tuple(v.strip() for v in value.split(",") if v.strip())
