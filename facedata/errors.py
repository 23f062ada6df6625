"""The exceptions facedata raises. Every message says what was expected and what to do."""

from __future__ import annotations


class FacedataError(Exception):
    """Base class of every error facedata raises on purpose."""


class MissingDataError(FacedataError):
    """A dataset root, file or annotation the user must provide is absent or malformed."""


class MissingWeightsError(FacedataError):
    """A network's weight file is not in the cache and cannot be downloaded."""


class CorruptWeightsError(FacedataError):
    """A weight file exists but is not the published one, not a readable checkpoint, or
    another network's."""


class CorruptShardError(FacedataError):
    """A shard does not match its manifest or holds a sample that does not decode."""


class BadImageError(FacedataError):
    """An input image cannot be turned into an RGB uint8 array."""


class RejectedError(FacedataError):
    """A quality gate turned a sample away (a face too small, implausible landmarks). It is a
    failure line with a ``reason`` but not an error: it does not count toward
    ``max_failure_rate``."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class ConfigError(FacedataError):
    """Options that contradict each other or name something that does not exist."""


class ClusterError(FacedataError):
    """A Dask or Ray cluster cannot be reached, refuses the connection, or has no worker left."""


class MissingDependencyError(FacedataError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str):
    """Import an optional dependency or raise an error naming the extra that provides it.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"dlib"``.
    extra : str
        The ``facedata[...]`` extra that installs it.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module!r} is not installed; install it with: pip install 'facedata[{extra}]'"
        ) from exc


class OutputError(FacedataError):
    """The operating system refused a write (disk full, read-only, permissions, a file where a
    folder belongs). Work already finished is kept; the same command completes once fixed."""

    #: What to do about each refusal, by errno name.
    REMEDIES = {
        "ENOSPC": "free some space",
        "EDQUOT": "free some space (disk quota exceeded)",
        "EFBIG": "the file is larger than this filesystem or process allows",
        "EROFS": "the filesystem is mounted read-only",
        "EACCES": "check the folder's permissions",
        "EPERM": "check the folder's permissions and attributes (chattr)",
        "ENOTDIR": "a parent of it is a file, not a folder",
        "EEXIST": "a file is in the way of a folder",
    }

    @classmethod
    def from_os_error(
        cls, exc: OSError, *, path=None, then: str = "", verb: str = "write"
    ) -> OutputError:
        """``cannot write PATH: CAUSE (what to do)`` for an ``OSError`` raised by a write,
        followed by ``then`` (what happens to the work done so far). ``path`` names the file
        when the error does not (a failed ``write()`` call)."""
        import errno

        name = errno.errorcode.get(exc.errno or 0, "")
        remedy = cls.REMEDIES.get(name)
        cause = exc.strerror or str(exc)
        path = exc.filename or path
        where = f" {path}" if path else ""
        return cls(f"cannot {verb}{where}: {cause}{f' ({remedy})' if remedy else ''}{then}")


class BuildFailedError(FacedataError):
    """A build ran to its end but did not succeed: shards failed, or more samples failed than
    ``max_failure_rate`` allows. ``report`` is the :class:`~facedata.pipeline.BuildReport`."""

    def __init__(self, message: str, report):
        super().__init__(message)
        self.report = report
