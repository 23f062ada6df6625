"""Command-line metadata of config dataclass fields: the flag a field is set with.

Every field of a build, source or stage config is an option of ``facedata build``; the CLI
generates them (``cli/options.py``) from the dataclasses, so each default lives in its field
and each help text in its class's ``Attributes`` docstring. A field needs :func:`option` only
when its flag is not the rule's ``--<stage>-<field>`` (``--<field>`` for the build and source
configs), when older names must keep working, or when it is not a command-line option.

>>> from dataclasses import dataclass, fields
>>> @dataclass(frozen=True)
... class Example:
...     count: int = option(1, flag="--masks-per-sample", aliases=("--count",))
>>> fields(Example)[0].metadata["flag"]
'--masks-per-sample'
"""

from __future__ import annotations

import dataclasses
from typing import Any


def option(
    default: Any,
    *,
    flag: str | None = None,
    aliases: tuple[str, ...] = (),
    group: str | None = None,
    switch: tuple[str, Any] | None = None,
    cli: bool = True,
) -> Any:
    """A dataclass field with a default and its command-line metadata.

    Parameters
    ----------
    default
        The field's default (the only place it is written).
    flag : str, optional
        Its flag, when not the rule's (``--x/--no-x`` for a boolean).
    aliases : tuple of str
        Further names that set it (earlier names, kept working).
    group : str, optional
        One flag that sets this field and the others of the same group together, as
        comma-separated values in field order (``--component-sizes 128,160,192``).
    switch : (str, value), optional
        A ``--on/--off`` flag that sets the field to ``value`` when on (``--clahe`` sets the
        CLAHE clip limit to its usual value).
    cli : bool
        False for a field the program sets itself (never a flag).
    """
    metadata = {"flag": flag, "aliases": aliases, "group": group, "switch": switch, "cli": cli}
    return dataclasses.field(default=default, metadata=metadata)
