"""Coverage control: hole-fraction ranges, named buckets, and drawing by rejection.

MAT and mmagic resample a mask until its hole ratio falls in a range; LaMa-style evaluators
report results per coverage bucket (0-10 %, 10-20 %, ... 90-100 %). Both are expressed here
with one type, :class:`CoverageRange`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .base import coverage


@dataclass(frozen=True)
class CoverageRange:
    """An interval of hole fractions.

    Attributes
    ----------
    low, high : float
        Bounds in [0, 1], ``low <= high``.
    open_high : bool
        Exclude ``high`` itself, so that adjacent buckets do not overlap.
    """

    low: float = 0.0
    high: float = 1.0
    open_high: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ConfigError(
                f"coverage bounds must satisfy 0 <= min <= max <= 1, got {self.low} and {self.high}"
            )

    @property
    def name(self) -> str:
        """``"10-20"``: the bounds in percent."""
        return f"{self.low * 100:g}-{self.high * 100:g}"

    def contains(self, value: float) -> bool:
        """Whether a hole fraction lies in the range."""
        if self.open_high:
            return self.low <= value < self.high
        return self.low <= value <= self.high

    def distance(self, value: float) -> float:
        """How far a hole fraction lies outside the range (0 inside or on its bounds)."""
        return max(self.low - value, value - self.high, 0.0)


#: Evaluation buckets 0-10 %, 10-20 %, ... 90-100 %: ``[low, high)``, the last one closed.
BUCKETS: tuple[CoverageRange, ...] = tuple(
    CoverageRange(i / 10, (i + 1) / 10, open_high=i < 9) for i in range(10)
)
BUCKET_NAMES: tuple[str, ...] = tuple(b.name for b in BUCKETS)


def bucket_of(value: float) -> str:
    """Name of the bucket a hole fraction falls in.

    Examples
    --------
    >>> bucket_of(0.0), bucket_of(0.1), bucket_of(0.35), bucket_of(1.0)
    ('0-10', '10-20', '30-40', '90-100')
    """
    for bucket in BUCKETS:
        if bucket.contains(value):
            return bucket.name
    raise ValueError(f"coverage {value} is outside [0, 1]")


def parse_buckets(text: str) -> tuple[CoverageRange, ...]:
    """Buckets from a comma-separated list of names (``"10-20,20-30"``) or ``"all"``.

    Raises
    ------
    ConfigError
        For a name that is not one of :data:`BUCKET_NAMES`.
    """
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        return BUCKETS
    by_name = dict(zip(BUCKET_NAMES, BUCKETS))
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        raise ConfigError(
            f"unknown coverage bucket(s) {', '.join(unknown) or repr(text)}; use 'all' or "
            f"names from {', '.join(BUCKET_NAMES)}"
        )
    return tuple(by_name[n] for n in names)


def histogram(values: Iterable[float]) -> dict[str, int]:
    """Count hole fractions per bucket (every bucket listed, in order)."""
    counts = dict.fromkeys(BUCKET_NAMES, 0)
    for value in values:
        counts[bucket_of(value)] += 1
    return counts


def draw_within(
    draw: Callable[[], tuple[np.ndarray, dict]],
    target: CoverageRange,
    *,
    max_tries: int,
) -> tuple[np.ndarray, dict]:
    """Call ``draw`` until its mask's coverage is in ``target``, at most ``max_tries`` times.

    Parameters
    ----------
    draw : callable
        Returns ``(mask, info)``; called again for each try (it owns the random generator,
        so the tries of one sample are reproducible).
    target : CoverageRange
        Accepted hole fractions ([0, 1] accepts the first mask).
    max_tries : int
        Upper bound on the number of masks drawn.

    Returns
    -------
    mask : (H, W) uint8 ndarray
        The first mask in range, else the one closest to the range.
    info : dict
        The generator's info plus ``coverage`` (rounded to 6 digits), ``tries`` (masks drawn)
        and ``in_range`` (False when no try succeeded and the closest mask was kept).
    """
    best: tuple[float, np.ndarray, dict, float] | None = None
    tries = 0
    for tries in range(1, max(1, max_tries) + 1):
        mask, info = draw()
        value = coverage(mask)
        if target.contains(value):
            return mask, {**info, "coverage": round(value, 6), "tries": tries, "in_range": True}
        gap = target.distance(value)
        if best is None or gap < best[0]:
            best = (gap, mask, info, value)
    assert best is not None  # max_tries >= 1
    _, mask, info, value = best
    return mask, {**info, "coverage": round(value, 6), "tries": tries, "in_range": False}
