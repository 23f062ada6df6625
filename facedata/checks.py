"""Option checks shared by the config dataclasses: each raises a one-line ConfigError naming
the flag, so library callers and the CLI get the same message before any work starts."""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable

from .errors import ConfigError

_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def at_least(flag: str, value, low: int) -> None:
    """``value`` must be an integer ``>= low``.

    Examples
    --------
    >>> at_least("--size", 0, 1)
    Traceback (most recent call last):
    ...
    facedata.errors.ConfigError: --size must be an integer of at least 1, not 0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ConfigError(f"{flag} must be an integer of at least {low}, not {value!r}")


def one_of(flag: str, value, choices: Iterable) -> None:
    """``value`` must be one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{flag} must be one of {', '.join(map(str, choices))}, not {value!r}")


def device_name(flag: str, value: str) -> None:
    """``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:i`` (whether it exists is checked later)."""
    if not isinstance(value, str) or not _DEVICE.fullmatch(value):
        raise ConfigError(f"{flag} must be auto, cpu, cuda or cuda:i, not {value!r}")


def between(flag: str, value, low: float, high: float) -> None:
    """``value`` must be a number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low <= value <= high:
        raise ConfigError(f"{flag} must be between {low:g} and {high:g}, not {value!r}")
