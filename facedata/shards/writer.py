"""Writing one shard: a byte-reproducible tar, written under a temporary name, then renamed."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

from ..io.atomic import temporary_name
from .codec import encode


class ShardWriter:
    """Write samples to ``path`` atomically.

    Members have a fixed mtime, owner and mode, and a sample's fields are written in sorted
    order, so the same samples always give the same bytes. Nothing appears under ``path``
    until :meth:`close` succeeds; an exception discards the temporary file.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> d = tempfile.mkdtemp()
    >>> with ShardWriter(f"{d}/train-000000.tar") as w:
    ...     w.write("demo-000001", {"mask.png": np.zeros((4, 4), np.uint8), "json": {"a": 1}})
    >>> w.count
    1
    """

    def __init__(self, path: str | os.PathLike, *, jpeg_quality: int = 95, png_level: int = 1):
        self.path = Path(path)
        self.tmp = temporary_name(self.path)
        self.jpeg_quality = jpeg_quality
        self.png_level = png_level
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.tmp, "wb")
        self._tar = tarfile.open(fileobj=self._file, mode="w", format=tarfile.GNU_FORMAT)
        self.count = 0
        self.sha256: str | None = None
        self.nbytes = 0

    def write(self, key: str, fields: dict) -> None:
        """Append one sample; ``fields`` maps field names to arrays, dicts or bytes.

        Every field is encoded before the first is written, so a field that cannot be encoded
        fails the sample without leaving part of it in the shard.
        """
        if "." in key or "/" in key:
            raise ValueError(f"sample key {key!r} must not contain dots or slashes")
        encoded = [
            (field, encode(field, fields[field], jpeg_quality=self.jpeg_quality,
                           png_level=self.png_level))
            for field in sorted(fields)
        ]  # fmt: skip
        for field, data in encoded:
            info = tarfile.TarInfo(f"{key}.{field}")
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            self._tar.addfile(info, io.BytesIO(data))
        self.count += 1

    def close(self) -> None:
        """Finish the tar, flush it to disk and move it to its final name.

        When that fails (a full disk refuses the last blocks), the temporary file is removed.
        """
        try:
            self._tar.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self.sha256 = _sha256(self.tmp)
            self.nbytes = self.tmp.stat().st_size
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Discard the temporary file (also when the disk is full: closing it may fail)."""
        for close in (self._tar.close, self._file.close):
            try:
                close()
            except OSError:
                pass
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()
