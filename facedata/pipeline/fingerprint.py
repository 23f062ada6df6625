"""What a build was made from: per-sample input fingerprints and option differences.

A shard's stats record, for each of its samples, a digest of the sample's key, the metadata
its source listed (annotation tables) and the size and mtime of every input file (present or
absent). A re-run compares them with the source as it is now: a shard is reused only when
every one of its samples is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..sample import SampleRef


def file_state(path: Path) -> list:
    """``[name, size, mtime_ns]`` of a file, or ``[name, reason]`` when it cannot be stat'ed.

    Examples
    --------
    >>> file_state(Path("/no/such/file"))
    ['/no/such/file', 'ENOENT']
    """
    try:
        st = os.stat(path)
    except OSError as exc:  # absent, a symlink loop, no permission: load will say which
        import errno

        return [str(path), errno.errorcode.get(exc.errno or 0, type(exc).__name__)]
    return [str(path), st.st_size, st.st_mtime_ns]


def sample_digest(ref: SampleRef, inputs: Iterable[Path]) -> str:
    """16 hex digits that change when the sample's listing or any of its input files does."""
    record = [
        ref.key, ref.path, ref.orig_file, ref.meta, ref.problem, [file_state(p) for p in inputs]
    ]  # fmt: skip
    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class InputChanges:
    """Samples added, removed and changed since the build a folder holds."""

    added: int = 0
    removed: int = 0
    changed: int = 0

    @classmethod
    def between(cls, old: dict[str, str], new: dict[str, str]) -> InputChanges:
        """Compare key → digest tables (the previous run's and the current one)."""
        return cls(
            added=len(new.keys() - old.keys()),
            removed=len(old.keys() - new.keys()),
            changed=sum(1 for k in new.keys() & old.keys() if new[k] != old[k]),
        )

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def __str__(self) -> str:
        return f"{self.added} added, {self.removed} removed, {self.changed} changed"


def option_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``"path.to.option: old → new"`` for every leaf that differs between two option trees.

    Examples
    --------
    >>> option_changes({"build": {"seed": 0, "size": 64}}, {"build": {"seed": 1, "size": 64}})
    ['build.seed: 0 → 1']
    """
    lines = []
    for key in sorted(old.keys() | new.keys(), key=str):
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if isinstance(a, dict) and isinstance(b, dict):
            lines += option_changes(a, b, f"{prefix}{key}.")
        elif a != b:
            lines.append(f"{prefix}{key}: {_show(a)} → {_show(b)}")
    return lines


_ABSENT = object()


def _show(value) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, default=str)
