"""The source interface: list samples cheaply, then load one sample at a time."""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingDataError
from ..sample import Sample, SampleRef


@dataclass(frozen=True)
class SourceConfig:
    """Options of the source stage.

    Attributes
    ----------
    name : str
        Source name (``celebamask-hq``, ``celeba-hq``, ``folder``, ``demo``).
    root : str or None
        Dataset root; ``None`` means ``$FACEDATA_DATA/<name>`` or ``~/datasets/<name>``.
    partition_file : str or None
        CelebA ``list_eval_partition.txt``; by default looked up under the root.
    required_parts : tuple of str
        CelebAMask-HQ parts every face has; a missing file for one of them is an error.
    decode_size : int or None
        Sources of aligned images decode JPEGs at reduced scale down to this side (see
        :func:`facedata.io.images.read_image`); a build sets it to its output size.
    """

    name: str = "demo"
    root: str | None = None
    partition_file: str | None = None
    required_parts: tuple[str, ...] = ("skin",)
    decode_size: int | None = None


def default_root(name: str) -> Path:
    """``$FACEDATA_DATA/<name>`` when set, else ``~/datasets/<name>``."""
    base = os.environ.get("FACEDATA_DATA")
    return (Path(base) if base else Path.home() / "datasets") / name


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def safe_key(text: str) -> str:
    """Turn any text (a relative path) into a key without dots or separators."""
    return _UNSAFE.sub("_", text).strip("_") or "sample"


class Source(ABC):
    """A dataset reader.

    Subclasses set ``name``, ``layout`` (the expected files, shown when they are missing) and
    ``obtain`` (where the data set comes from), and implement :meth:`refs` and :meth:`load`.
    A source object is pickled to workers, so it holds paths and small tables only.
    """

    name: str = ""
    layout: str = ""
    obtain: str = ""

    def __init__(self, config: SourceConfig):
        self.config = config
        self.root = Path(config.root).expanduser() if config.root else default_root(self.name)

    def missing(self, what: str) -> MissingDataError:
        """An error naming what is missing, the expected layout and where to get the data."""
        return MissingDataError(
            f"{self.name}: {what} (root: {self.root}).\n"
            f"Expected layout:\n{self.layout}\n"
            f"Obtain it from: {self.obtain}\n"
            f"Pass --root, or set FACEDATA_DATA so that $FACEDATA_DATA/{self.name} is the root."
        )

    def partition_path(self) -> Path | None:
        """The CelebA partition file for the ``celeba`` split rule, if one is available."""
        if self.config.partition_file:
            path = Path(self.config.partition_file).expanduser()
            if not path.is_file():
                raise MissingDataError(f"partition file {path} does not exist")
            return path
        path = self.root / "list_eval_partition.txt"
        return path if path.is_file() else None

    @abstractmethod
    def refs(self) -> list[SampleRef]:
        """All samples in a stable order. Raises :class:`MissingDataError` for a bad root."""

    @abstractmethod
    def load(self, ref: SampleRef) -> Sample:
        """Decode one sample. Raises a :class:`~facedata.errors.FacedataError` on bad input."""
