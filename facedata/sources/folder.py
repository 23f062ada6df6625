"""Any folder of portraits: every image under the root, recursively."""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from pathlib import Path

from ..io.images import IMAGE_SUFFIXES
from ..sample import Sample, SampleRef
from .base import Source, safe_key

log = logging.getLogger(__name__)


def list_images(root: Path) -> list[str]:
    """Relative paths of the images under ``root``, sorted.

    Symbolic links to folders are followed, and each real folder is read once: by the first
    path that reaches it in a depth-first walk in name order. A link loop therefore cannot
    hang the listing, and a folder linked twice does not list its images twice. A folder that
    cannot be read is skipped with a warning naming it.
    """
    found = []
    seen: set[tuple[int, int]] = set()

    def unreadable(error: OSError) -> None:
        log.warning("folder source: skipping %s: %s", error.filename, error.strerror or error)

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable):
        stat = os.stat(dirpath)
        if (stat.st_dev, stat.st_ino) in seen:
            dirnames.clear()  # reached again through a link: already listed
            continue
        seen.add((stat.st_dev, stat.st_ino))
        dirnames.sort()
        for name in filenames:
            if name.lower().endswith(IMAGE_SUFFIXES):
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def keys_for(paths: list[str], prefix: str) -> list[str]:
    """Keys from relative paths: dots and separators become ``_``; clashes get a hash suffix."""
    stems = [safe_key(os.path.splitext(p)[0]) for p in paths]
    counts = Counter(stems)
    return [
        f"{prefix}-{s}"
        if counts[s] == 1
        else f"{prefix}-{s}-{hashlib.sha1(p.encode()).hexdigest()[:8]}"
        for s, p in zip(stems, paths)
    ]


class Folder(Source):
    """Reader of an arbitrary image folder (jpg, png, webp, bmp), keys from relative paths."""

    name = "folder"
    layout = "  any images (*.jpg, *.jpeg, *.png, *.webp, *.bmp) under the root, in any sub-folders"
    obtain = "your own photos, FFHQ (https://github.com/NVlabs/ffhq-dataset) or any portrait set"

    def refs(self) -> list[SampleRef]:
        if not self.root.is_dir():
            raise self.missing("the root is not a folder")
        paths = list_images(self.root)
        if not paths:
            raise self.missing("no image found")
        return [
            SampleRef(key=k, path=str(self.root / p), meta={"file": p})
            for k, p in zip(keys_for(paths, self.name), paths)
        ]

    def load(self, ref: SampleRef) -> Sample:
        image, meta = self.read_image(ref)
        return Sample(key=ref.key, image=image, meta=meta)
