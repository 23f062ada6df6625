"""CelebAMask-HQ: 30,000 CelebA-HQ images with 19-class part annotations."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BadImageError, MissingDataError
from ..io.images import read_part_mask
from ..labels import CLASSES
from ..sample import Sample, SampleRef
from . import label_cache
from .base import Source, clash, numbered_images
from .tables import read_annotation_table, read_mapping

IMAGES = "CelebA-HQ-img"
ANNOTATIONS = "CelebAMask-HQ-mask-anno"
MAPPING = "CelebA-HQ-to-CelebA-mapping.txt"
ATTRIBUTES = "CelebAMask-HQ-attribute-anno.txt"
POSE = "CelebAMask-HQ-pose-anno.txt"


def part_path(anno_root: Path, image_id: int, part: str) -> Path:
    """Where a part mask lives: folder ``id // 2000``, file ``{id:05d}_{part}.png``."""
    return anno_root / str(image_id // 2000) / f"{image_id:05d}_{part}.png"


def read_part(path: Path) -> np.ndarray | None:
    """A part mask as ``g_mask.py`` reads it, or ``None`` when the face has no such part.

    Only a name that does not exist means "absent". A file that exists but cannot be read (a
    symbolic-link loop or a dangling link, no permission, a folder, a corrupt PNG) raises, so
    a lost hair part is a failure line rather than a silently different label map.

    Raises
    ------
    BadImageError
        When the file exists but cannot be read or decoded.
    """
    try:
        path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:  # e.g. the id's folder is a file
        raise BadImageError(f"cannot read part mask {path}: {exc.strerror or exc}") from exc
    return read_part_mask(path)


def merge_parts(parts: dict[str, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Merge per-part masks into one label map with the official rule.

    Parts are written in label order (skin first, cloth last); a later part overwrites an
    earlier one where they overlap. A pixel belongs to a part where its mask is non-zero
    (the masks as :func:`read_part` returns them: ``g_mask.py``'s blue channel).

    Parameters
    ----------
    parts : dict
        Part name (``"hair"``) → (H, W) mask; absent parts are simply not in the dict.
    shape : (int, int)
        Label map size.

    Returns
    -------
    (H, W) uint8 ndarray
        Official label ids 0-18.

    Examples
    --------
    >>> skin = np.ones((2, 2), np.uint8); hair = np.array([[0, 1], [0, 0]], np.uint8)
    >>> merge_parts({"skin": skin, "hair": hair}, (2, 2))
    array([[ 1, 13],
           [ 1,  1]], dtype=uint8)
    """
    labels = np.zeros(shape, np.uint8)
    for label, name in enumerate(CLASSES):
        mask = parts.get(name)
        if mask is None or label == 0:
            continue
        if mask.shape != tuple(shape):
            raise MissingDataError(f"part {name!r} is {mask.shape}, expected {tuple(shape)}")
        # Ids grow in writing order, so "a later part overwrites" is the largest id covering
        # a pixel: a maximum is 50x faster than boolean-index assignment here.
        np.maximum(labels, (mask != 0).view(np.uint8) * np.uint8(label), out=labels)
    return labels


#: The metadata keys of a CelebA-HQ image (its index and, with the mapping file, CelebA name).
CELEBA_HQ_META = {
    "properties": {
        "celeba_hq_id": {
            "description": "CelebA-HQ index 0-29999.",
            "type": "integer",
            "minimum": 0,
        },
        "celeba_file": {
            "description": "The original CelebA file name (from CelebA-HQ-to-CelebA-mapping.txt).",
            "type": "string",
        },
    },
    "dependentRequired": {"celeba_file": ["celeba_hq_id"]},
}


class CelebAMaskHQ(Source):
    """Reader of the CelebAMask-HQ folder layout."""

    name = "celebamask-hq"
    meta_schema = {
        "properties": {
            **CELEBA_HQ_META["properties"],
            "attributes": {
                "description": "CelebA's 40 binary attributes (CelebAMask-HQ-attribute-anno.txt).",
                "type": "object",
                "propertyNames": {"pattern": "^[A-Za-z0-9_]+$"},
                "additionalProperties": {"type": "boolean"},
            },
            "pose": {
                "description": "Head pose in degrees (CelebAMask-HQ-pose-anno.txt).",
                "type": "object",
                "required": ["yaw", "pitch", "roll"],
                "additionalProperties": False,
                "properties": {
                    "yaw": {"type": "number"},
                    "pitch": {"type": "number"},
                    "roll": {"type": "number"},
                },
            },
        },
        "dependentRequired": CELEBA_HQ_META["dependentRequired"],
    }
    key_prefix = "celebamask-hq"
    layout = (
        f"  {IMAGES}/0.jpg ... 29999.jpg\n"
        f"  {ANNOTATIONS}/0 ... 14/{{id:05d}}_{{part}}.png   (id // 2000 = folder)\n"
        f"  {MAPPING}, {ATTRIBUTES}, {POSE}   (optional)\n"
        "  list_eval_partition.txt   (optional, from CelebA, for the official split)"
    )
    obtain = "https://github.com/switchablenorms/CelebAMask-HQ (non-commercial licence)"

    def _images(self) -> dict[int, list[str]]:
        folder = self.root / IMAGES
        if not folder.is_dir():
            raise self.missing(f"no {IMAGES}/ folder")
        if not (self.root / ANNOTATIONS).is_dir():
            raise self.missing(f"no {ANNOTATIONS}/ folder")
        images = numbered_images(folder)
        if not images:
            raise self.missing(f"{IMAGES}/ holds no <id>.jpg image")
        return images

    def _tables(self) -> tuple[dict[int, str], dict[str, dict], dict[str, dict]]:
        mapping = read_mapping(p) if (p := self.root / MAPPING).is_file() else {}
        attributes: dict[str, dict] = {}
        if (p := self.root / ATTRIBUTES).is_file():
            names, rows = read_annotation_table(p)
            attributes = {f: dict(zip(names, (v > 0 for v in vals))) for f, vals in rows.items()}
        pose: dict[str, dict] = {}
        if (p := self.root / POSE).is_file():
            _, rows = read_annotation_table(p)  # header says "Yaw Pitch Raw": the third is roll
            pose = {f: dict(zip(("yaw", "pitch", "roll"), vals)) for f, vals in rows.items()}
        return mapping, attributes, pose

    def refs(self) -> list[SampleRef]:
        images = self._images()
        mapping, attributes, pose = self._tables()
        refs = []
        for i, names in images.items():
            file = f"{i}.jpg"  # the tables name the canonical file
            meta: dict = {"celeba_hq_id": i, "file": f"{IMAGES}/{names[0]}", "aligned": True}
            if i in mapping:
                meta["celeba_file"] = mapping[i]
            if file in attributes:
                meta["attributes"] = attributes[file]
            if file in pose:
                meta["pose"] = pose[file]
            refs.append(
                SampleRef(
                    key=f"{self.key_prefix}-{i:06d}",
                    path=str(self.root / IMAGES / names[0]),
                    orig_file=mapping.get(i),
                    meta=meta,
                    problem=clash(IMAGES, i, names),
                )
            )
        return refs

    def inputs(self, ref: SampleRef) -> list[Path]:
        if "celeba_hq_id" not in ref.meta:  # a photo without annotations (the demo's)
            return super().inputs(ref)
        anno = self.root / ANNOTATIONS
        parts = [part_path(anno, ref.meta["celeba_hq_id"], name) for name in CLASSES[1:]]
        return [Path(ref.path), *parts]

    def load_parsing(self, image_id: int) -> np.ndarray:
        """Merge the part PNGs of one image into its label map (512 x 512 in the release).

        The merge is ``g_mask.py``'s, with two deliberate differences: an id with no part file
        at all, or without a required part (``config.required_parts``), is an error rather
        than an all-background map; and a part file that exists but cannot be read is an error
        rather than an absent part.

        The merged map is kept in :mod:`~facedata.sources.label_cache`, keyed by every part
        file's path, size and modification time: a rebuild or resume reads it back instead.
        """
        anno = self.root / ANNOTATIONS
        paths = {name: part_path(anno, image_id, name) for name in CLASSES[1:]}
        # A map merged before from these very files (same sizes and times) is read, not redone.
        key = label_cache.part_key(paths.values(), extra=list(self.config.required_parts))
        cached = label_cache.load(key)
        if cached is not None:
            return cached
        parts: dict[str, np.ndarray] = {}
        for name, path in paths.items():
            mask = read_part(path)
            if mask is not None:
                parts[name] = mask
        if not parts:
            raise MissingDataError(
                f"no part masks for id {image_id} under {anno / str(image_id // 2000)}/"
            )
        for name in self.config.required_parts:
            if name not in parts:
                raise MissingDataError(
                    f"required part file {part_path(anno, image_id, name)} is missing"
                )
        shapes = {m.shape for m in parts.values()}
        if len(shapes) != 1:
            raise MissingDataError(f"part masks of id {image_id} differ in size: {sorted(shapes)}")
        labels = merge_parts(parts, shapes.pop())
        label_cache.store(key, labels)
        return labels

    def load(self, ref: SampleRef) -> Sample:
        image, meta = self.read_image(ref, reduce=True)
        parsing = self.load_parsing(ref.meta["celeba_hq_id"])
        meta["parsing_method"] = "annotations"
        return Sample(key=ref.key, image=image, parsing=parsing, meta=meta)
