"""Writing files and folders so that nobody ever sees half of one.

Everything facedata writes (shards, stats, manifests, weights, checkpoints, previews, mask
sets, exports) is written under a temporary name beside its target and renamed once complete.
The temporary name is ``.<name>.tmp-<pid><suffix>``, so a killed writer's leftovers are
recognisable and never mistaken for a finished file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def temporary_name(path: Path, suffix: str = "") -> Path:
    """The temporary name used while ``path`` is being written."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}{suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it vanishes.

    Parameters
    ----------
    path : path
        The file or folder to produce. An existing folder is replaced as a whole.
    keep_suffix : bool
        End the temporary name with ``path``'s suffix (for writers that choose the format by
        extension, such as ``cv2.imwrite``).

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path, path.suffix if keep_suffix else "")
    _remove(tmp)
    try:
        yield tmp
        if tmp.is_dir() and path.exists():
            _remove(path)  # os.replace cannot replace a non-empty folder
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | os.PathLike, obj: Any, *, indent: int | None = 2) -> None:
    """Write JSON (sorted keys) atomically."""
    write_text_atomic(path, json.dumps(obj, indent=indent, sort_keys=True, default=str) + "\n")
