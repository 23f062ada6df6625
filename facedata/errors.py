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
