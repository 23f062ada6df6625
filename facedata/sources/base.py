"""The source interface: list samples cheaply, then load one sample at a time."""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import MissingDataError
from ..io.images import decode_image
from ..options import option
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
        :func:`facedata.io.images.decode_image`); a build sets it to its output size.
    accept_damaged : bool
        Keep JPEGs whose decoder reports recoverable damage (``Corrupt JPEG data: … extraneous
        bytes``, ``Premature end of JPEG file``). By default such an image is a failure line:
        libjpeg decodes past the damage and returns wrong pixels without an error.
    """

    name: str = option("demo", flag="--src")
    root: str | None = None
    partition_file: str | None = None
    required_parts: tuple[str, ...] = ("skin",)
    decode_size: int | None = option(None, cli=False)
    accept_damaged: bool = False


def numbered_images(folder: Path) -> dict[int, list[str]]:
    """The ``<id>.jpg`` files of a folder by id, ids ascending.

    More than one name for an id (``0023.jpg`` beside ``23.jpg``) is a clash that the caller
    turns into a failure (see :func:`clash`), never into two samples under one key.
    """
    found: dict[int, list[str]] = {}
    for p in folder.glob("*.jpg"):
        if p.stem.isascii() and p.stem.isdigit():
            found.setdefault(int(p.stem), []).append(p.name)
    return {i: sorted(found[i]) for i in sorted(found)}


def clash(folder: str, image_id: int, names: list[str]) -> str | None:
    """The failure message for an id claimed by several files, or ``None`` for one file."""
    if len(names) < 2:
        return None
    files = ", ".join(f"{folder}/{n}" for n in names)
    return f"{len(names)} files claim id {image_id} ({files}): keep only {image_id}.jpg"


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
    #: JSON-Schema fragment of the metadata keys it writes (see facedata.pipeline.schema);
    #: a subclass declares only the keys it adds.
    meta_schema: ClassVar[dict] = {
        "properties": {
            "file": {
                "description": "The image file, relative to the source root.",
                "type": "string",
                "minLength": 1,
            },
            "original_size": {
                "description": (
                    "[width, height] of the image file at full resolution (upright), before "
                    "alignment, cropping or reduced-scale decoding."
                ),
                "$ref": "#/$defs/size2",
            },
            "conversion": {
                "description": (
                    "How a non-RGB file was turned into 8-bit RGB, e.g. `RGBA composited on white`."
                ),
                "type": "string",
            },
            "exif_orientation": {
                "description": (
                    "The EXIF orientation tag (2-8) applied on reading: the file stores the image "
                    "flipped or rotated, the sample holds it upright."
                ),
                "type": "integer",
                "minimum": 2,
                "maximum": 8,
            },
        },
        "required": ["file", "original_size"],
    }

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

    def read_image(self, ref: SampleRef, *, reduce: bool = False) -> tuple[np.ndarray, dict]:
        """Decode a sample's image upright, with its metadata.

        Parameters
        ----------
        ref : SampleRef
        reduce : bool
            Decode a JPEG at reduced scale down to ``config.decode_size`` (aligned sources).

        Returns
        -------
        image : (H, W, 3) uint8 ndarray
        meta : dict
            ``ref.meta`` plus ``original_size`` (the file's upright full-resolution
            ``[width, height]``), and ``exif_orientation`` and ``conversion`` when they apply.

        Raises
        ------
        FacedataError
            The problem listing found (``ref.problem``), or an image that does not decode.
        """
        if ref.problem:
            raise MissingDataError(ref.problem)
        decoded = decode_image(
            ref.path,
            reduce_to=self.config.decode_size if reduce else None,
            strict=not self.config.accept_damaged,
        )
        meta = dict(ref.meta) | {"original_size": list(decoded.size)}
        if decoded.orientation != 1:
            meta["exif_orientation"] = decoded.orientation
        if decoded.conversion:
            meta["conversion"] = decoded.conversion
        return decoded.rgb, meta

    @abstractmethod
    def refs(self) -> list[SampleRef]:
        """All samples in a stable order. Raises :class:`MissingDataError` for a bad root."""

    def inputs(self, ref: SampleRef) -> list[Path]:
        """Every file :meth:`load` may read for ``ref``, present or not.

        A build fingerprints these (size and mtime), so a re-run notices an edited, added or
        removed file and rebuilds the shard that holds the sample.
        """
        return [Path(ref.path)]

    @abstractmethod
    def load(self, ref: SampleRef) -> Sample:
        """Decode one sample. Raises a :class:`~facedata.errors.FacedataError` on bad input."""
