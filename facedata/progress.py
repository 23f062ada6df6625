"""Progress bars that show on a terminal and stay out of logs and pipes."""

from __future__ import annotations

from typing import Any


def progress_bar(iterable: Any = None, *, show: bool = True, **options: Any) -> Any:
    """A tqdm bar, drawn only when ``show`` is true and its stream (stderr) is a terminal.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over, as for ``tqdm``.
    show : bool
        False never draws; True draws on a terminal only, so a redirected build's log holds
        its summary lines, not carriage-return updates.
    **options
        Passed to ``tqdm`` (``total``, ``unit``, ``desc``, ...).

    Examples
    --------
    >>> sum(progress_bar(range(3), show=False))
    3
    """
    from tqdm.auto import tqdm  # here, so that code which never draws a bar never loads tqdm

    # disable=None is tqdm's own "off unless the stream is a terminal".
    return tqdm(iterable, disable=None if show else True, **options)
