"""A cache of merged label maps, keyed by each part file's path, size and modification time.

Merging CelebAMask-HQ's part PNGs means decoding up to 18 of them per image, most of a build's
loading time. The merged map of an id is stored once as a single-channel PNG under
``$FACEDATA_HOME/cache/labels/``; a rebuild, a resume or a build with other options reads that
one file instead, as long as every part file still has the size and modification time it had
(a part added, removed, replaced or touched makes a new key). Maps are stored losslessly, so
a hit gives the very array the merge gave.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from ..io import png
from ..io.atomic import atomic_path
from ..weights import home

log = logging.getLogger(__name__)

#: Bump when the merge rule changes, so maps merged by an older rule are not reused.
VERSION = 1


def cache_dir() -> Path:
    """Where merged label maps are kept: ``$FACEDATA_HOME/cache/labels``."""
    return home() / "cache" / "labels"


def part_key(paths: Iterable[Path], *, extra: object = None) -> str | None:
    """A key naming the merge of ``paths`` as they are now, or None when one cannot be read
    (the reader then says why).

    Examples
    --------
    >>> part_key([Path("/nonexistent/00000_skin.png")]) is not None
    True
    """
    entries: list = [VERSION, extra]
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError:
            entries.append([os.path.abspath(path), None])  # an absent part is in the key too
            continue
        except OSError:
            return None
        entries.append([os.path.abspath(path), st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def _file(key: str) -> Path:
    return cache_dir() / key[:2] / f"{key}.png"


def load(key: str | None) -> np.ndarray | None:
    """The cached label map of ``key``, or None when there is none (or it is unreadable)."""
    if key is None:
        return None
    try:
        data = _file(key).read_bytes()
    except OSError:  # none cached, or unreadable
        return None
    # The cache's own files are plain grey PNGs: zlib-ng reads them four times faster.
    labels = png.grey(data)
    if labels is None:
        labels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return labels if labels is not None and labels.ndim == 2 else None


def store(key: str | None, labels: np.ndarray) -> None:
    """Keep ``labels`` under ``key``; a cache that cannot be written is skipped silently."""
    if key is None:
        return
    path = _file(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, keep_suffix=True) as tmp:
            if not cv2.imwrite(str(tmp), labels):
                raise OSError(f"cannot write {tmp}")
    except OSError as exc:  # read-only or full cache: the build goes on without it
        log.debug("label cache not written: %s", exc)
