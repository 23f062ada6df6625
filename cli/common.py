"""Helpers shared by the commands: logging set-up and turning errors into one-line exits."""

from __future__ import annotations

import contextlib
import logging
import traceback

import typer

from facedata.errors import BuildFailedError, FacedataError, OutputError
from facedata.io.lock import FolderLockedError

#: Exit status of a user mistake (bad option, missing data), as click uses for usage errors.
USER_ERROR = 2
#: Exit status of a build or command that ran and failed (environment, failed shards).
FAILED = 1


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Also when logging was configured before (basicConfig is then a no-op): user_errors
    # reads the level to decide whether to show tracebacks.
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.INFO)


@contextlib.contextmanager
def user_errors():
    """Show an expected error as one line and exit: 2 for a user mistake, 1 for a failure.

    A :class:`FacedataError` is expected; so is an ``OSError`` (disk full, read-only, a
    path that is a file), which names its path. With ``-v`` the traceback is printed too.
    """
    try:
        yield
    except (FacedataError, OSError) as exc:
        if logging.getLogger().isEnabledFor(logging.DEBUG):  # -v
            traceback.print_exc()
        if isinstance(exc, OSError):
            exc = OutputError.from_os_error(exc, verb="use")
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        failed = isinstance(exc, (BuildFailedError, OutputError, FolderLockedError))
        raise typer.Exit(FAILED if failed else USER_ERROR) from None


def split_list(value: str) -> tuple[str, ...]:
    """``"a,b, c"`` → ``("a", "b", "c")``."""
    return tuple(v.strip() for v in value.split(",") if v.strip())
