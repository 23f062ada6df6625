"""Reading shards back, strictly: every shard is checked against its manifest entry.

``iter_shard`` reads a tar as a stream with the standard library (``pipe:`` and URLs go through
WebDataset's ``gopen``). It hashes the bytes as they pass, so the manifest's sha256 costs no
second read, and it tells a proper end of archive (two zero blocks) from a file that merely
stops, which :mod:`tarfile` alone reads as a shorter, valid shard.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tarfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import ConfigError, CorruptShardError, MissingDataError
from .codec import decode

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: Named error policies of the readers (a callable taking the error is accepted too).
HANDLERS = ("raise", "warn", "skip")
#: A handler: called with each :class:`CorruptShardError`; raising stops the read.
Handler = Callable[[CorruptShardError], None]


def make_handler(handler: str | Handler) -> Handler:
    """Turn a policy name into a handler.

    ``raise`` re-raises (the default everywhere); ``warn`` logs a warning and goes on with the
    next sample or shard; ``skip`` goes on silently. A callable is returned as it is (count
    or collect errors with one, e.g. ``handler=problems.append``).

    Raises
    ------
    ConfigError
        For an unknown policy name.
    """
    if callable(handler):
        return handler
    if handler == "raise":
        return _reraise
    if handler == "warn":
        return _warn
    if handler == "skip":
        return _ignore
    raise ConfigError(f"handler={handler!r}; choose one of {', '.join(HANDLERS)} or a callable")


def _reraise(exc: CorruptShardError) -> None:
    raise exc


def _warn(exc: CorruptShardError) -> None:
    log.warning("%s (skipped)", exc)


def _ignore(exc: CorruptShardError) -> None:
    pass


class _HashingReader:
    """A read-only file wrapper that hashes every byte read through it (when ``hashing``)."""

    def __init__(self, raw: BinaryIO, hashing: bool):
        self.raw = raw
        self.sha256 = hashlib.sha256() if hashing else None

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.sha256 is not None:
            self.sha256.update(data)
        return data

    def drain(self) -> str | None:
        """Read (and hash) what is left; the digest of the whole stream."""
        if self.sha256 is None:
            return None
        while self.read(1 << 20):
            pass
        return self.sha256.hexdigest()


class _EndOfArchive(tarfile.TarInfo):
    """Records on the tar object why reading stopped: a zero block, or something else."""

    @classmethod
    def fromtarfile(cls, tar: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(tar)
        except tarfile.HeaderError as exc:
            tar.facedata_end = exc  # type: ignore[attr-defined]
            raise


def _open(url: str | os.PathLike) -> BinaryIO:
    text = str(url)
    if "://" in text or text.startswith("pipe:"):
        import webdataset as wds

        return wds.gopen(text)
    return open(url, "rb")


def iter_shard(
    path: str | os.PathLike,
    *,
    decoded: bool = True,
    handler: str | Handler = "raise",
    expected: Mapping[str, Any] | str | None = "manifest",
) -> Iterator[dict[str, Any]]:
    """Yield the samples of one tar as dicts: ``__key__`` plus one entry per field.

    A sample's members are adjacent (WebDataset convention); the key is the member name up
    to its first dot. ``__url__`` is not added (WebDataset adds it; facedata's readers name
    the shard in their errors instead).

    Parameters
    ----------
    path : path or str
        A shard file, or a ``pipe:``/URL that WebDataset's ``gopen`` opens.
    decoded : bool
        Decode each field (:func:`facedata.shards.codec.decode`), or yield the raw bytes.
    handler : {"raise", "warn", "skip"} or callable
        What to do with a :class:`CorruptShardError` (see :func:`make_handler`). A sample
        that does not decode is skipped alone; an unreadable tar ends its shard.
    expected : "manifest", mapping or None
        The shard's manifest entry (``count`` and ``sha256``) to check the shard against:
        ``"manifest"`` looks it up in the build the file lies in (none found: no check),
        ``None`` checks only the tar's own structure.

    Raises
    ------
    CorruptShardError
        Under ``handler="raise"``, naming the shard and the last good key: a truncated or
        damaged tar, a field that does not decode, or (at the shard's end, after its samples
        were yielded) a sample count or sha256 that differs from the manifest.
    """
    report = make_handler(handler)
    if expected == "manifest":
        expected = manifest_entry(path)
    elif isinstance(expected, str):
        raise ConfigError(f"expected={expected!r}; pass 'manifest', a manifest entry or None")
    count, last = 0, None
    try:
        raw = _open(path)
    except OSError as exc:
        report(CorruptShardError(f"{path} cannot be opened: {exc.strerror or exc}"))
        return
    with raw:
        stream = _HashingReader(raw, hashing=bool(expected and expected.get("sha256")))
        try:
            for sample in _samples(stream, path, decoded, report):
                count, last = count + 1, sample["__key__"]
                yield sample
        except (tarfile.TarError, OSError) as exc:
            report(_damaged(path, last, count, expected, str(exc)))
            return
        digest = stream.drain()
    if expected is None:
        return
    if count != expected["count"]:
        report(_damaged(path, last, count, expected, "fewer samples than the manifest lists"))
    elif digest is not None and digest != expected["sha256"]:
        report(
            CorruptShardError(
                f"{path}: sha256 {digest[:12]}… differs from the manifest's "
                f"{expected['sha256'][:12]}… (all {count} samples read; {REMEDY})"
            )
        )


#: What to do about a damaged shard.
REMEDY = "`facedata verify DIR` lists the damaged shards; rebuild them"


def _damaged(
    path: str | os.PathLike, last: str | None, count: int, expected: Mapping | None, why: str
) -> CorruptShardError:
    where = f"after sample {last!r}" if last else "before its first sample"
    of = f" of {expected['count']}" if expected else ""
    return CorruptShardError(
        f"{path} is damaged {where} ({count}{of} samples read: {why}; {REMEDY})"
    )


def _samples(
    stream: _HashingReader, path: str | os.PathLike, decoded: bool, report: Handler
) -> Iterator[dict[str, Any]]:
    current: dict[str, Any] | None = None
    broken = False  # a field of ``current`` did not decode
    # Reads of 64 KiB rather than tarfile's 10 KiB records.
    tar = tarfile.open(fileobj=stream, mode="r|", tarinfo=_EndOfArchive, bufsize=1 << 16)  # type: ignore[arg-type]
    with tar:
        for member in tar:
            if not member.isfile():
                continue
            key, _, field = member.name.partition(".")
            if current is not None and current["__key__"] != key:
                if not broken:
                    yield current
                current, broken = None, False
            if current is None:
                current = {"__key__": key}
            data = tar.extractfile(member).read()
            if broken:
                continue
            try:
                current[field] = decode(field, data) if decoded else data
            except CorruptShardError as exc:
                broken = True
                report(CorruptShardError(f"{path}: sample {key!r}: {exc}"))
        end = getattr(tar, "facedata_end", None)
    # tarfile ends quietly at a missing, cut or garbled header; a sound tar ends in zeros.
    if isinstance(end, tarfile.InvalidHeaderError):
        raise tarfile.ReadError(f"a member header is garbled ({end})")
    if not isinstance(end, tarfile.EOFHeaderError):
        raise tarfile.ReadError("the file ends without the tar's end-of-archive marker")
    if current is not None and not broken:
        yield current


def build_of(path: str | os.PathLike) -> Path | None:
    """The build folder a local shard file lies in (its folder or the one above, where
    ``manifest.json`` is), or ``None``."""
    shard = Path(path)
    if not shard.is_file():
        return None
    return next((b for b in (shard.parent.parent, shard.parent) if (b / MANIFEST).is_file()), None)


def manifest_entry(path: str | os.PathLike) -> dict | None:
    """The manifest entry (``path``, ``count``, ``bytes``, ``sha256``) of a shard file, or
    ``None`` when it belongs to no build (see :func:`build_of`) or is not listed."""
    build = build_of(path)
    return None if build is None else manifest_entries(build).get(str(Path(path).resolve()))


def manifest_entries(out: str | os.PathLike) -> dict[str, dict]:
    """Every shard entry of a build's manifest, keyed by the shard's resolved path."""
    manifest = load_manifest(out)
    return {
        str((Path(out) / shard["path"]).resolve()): shard
        for info in manifest["splits"].values()
        for shard in info["shards"]
    }


def load_manifest(out: str | os.PathLike) -> dict:
    """Read ``OUT/manifest.json``; a clear error when ``out`` is not a finished build."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise MissingDataError(
            f"{path} does not exist: {out} is not a finished facedata build "
            "(run `facedata build --out DIR` first, or finish it with the same command)"
        )
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CorruptShardError(f"{path} is not valid JSON ({exc}); {REMEDY}") from None


def shard_paths(out: str | os.PathLike, split: str | None = None) -> list[Path]:
    """Shard files listed in the manifest, optionally of one split, in order."""
    manifest = load_manifest(out)
    if split is not None and split not in manifest["splits"]:
        raise ConfigError(
            f"split {split!r} is not in {out}; it has {', '.join(manifest['splits']) or 'none'}"
        )
    return [
        Path(out) / shard["path"]
        for name, info in manifest["splits"].items()
        if split is None or name == split
        for shard in info["shards"]
    ]


def iter_samples(
    out: str | os.PathLike,
    split: str | None = None,
    *,
    decoded: bool = True,
    handler: str | Handler = "raise",
) -> Iterator[dict[str, Any]]:
    """Every sample of a build (or of one split), in manifest order, each shard checked.

    The derived fields the build left out (``derived_fields``) are computed from their
    sources, as arrays (``decoded``) or as the bytes the writer would have stored.
    """
    from .derive import Deriver

    derive = Deriver.of_manifest(load_manifest(out))
    entries = manifest_entries(out)
    for path in shard_paths(out, split):
        for sample in iter_shard(
            path, decoded=decoded, handler=handler, expected=entries[str(path.resolve())]
        ):
            try:
                yield derive(sample)
            except CorruptShardError as exc:
                make_handler(handler)(CorruptShardError(f"{path}: {exc}"))
