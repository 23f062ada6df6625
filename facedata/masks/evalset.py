"""Fixed evaluation mask sets: N PNGs plus ``masks.json``, like the papers' released masks.

Mask k is the k-th mask of the sample key :data:`EVAL_KEY` under the set's seed, so any mask
of a set can be regenerated alone. With buckets, mask k targets bucket ``k mod len(buckets)``,
which balances the set across them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import cv2
import numpy as np

from ..errors import ConfigError
from ..io.atomic import atomic_path, write_json_atomic
from ..progress import progress_bar
from .bounds import CoverageRange, bucket_of, histogram
from .mixed import NEEDS_FACE
from .registry import FAMILIES
from .sampling import MaskSpec

#: Sample key under which evaluation masks are seeded.
EVAL_KEY = "eval"
INDEX = "masks.json"


def published_max_coverage(kind: str) -> float:
    """The largest hole fraction a family's published evaluation sets keep.

    LaMa's ``bin/gen_mask_dataset.py`` drops masks covering more than ``max_tamper_area``
    (0.5 in every ``random_*`` config): :attr:`LamaMaskConfig.eval_max_coverage` for the
    ``lama-*`` kinds. Other families publish no such rule: 1.

    Examples
    --------
    >>> published_max_coverage("lama-thick"), published_max_coverage("deepfill")
    (0.5, 1.0)
    """
    config = FAMILIES[kind][1] if kind in FAMILIES else None
    return float(getattr(config, "eval_max_coverage", 1.0))


@dataclass(frozen=True)
class EvalMaskSpec(MaskSpec):
    """The masks of an evaluation set: a :class:`MaskSpec` whose upper coverage bound, unless
    given, is the one the family's published evaluation sets keep.

    Attributes
    ----------
    kind : str
        Family: scfegan, deepfill, lama-thin, lama-medium, lama-thick, box, gfc (the keys of
        :data:`facedata.masks.GENERATORS` but part, which needs a face), or mixed; no default:
        an evaluation set names its family.
    max_coverage : float or None
        Redraw masks above this; when unset (``None``), the family's published evaluation
        limit under ``eval_rule``, else 1.
    eval_rule : bool
        When ``max_coverage`` is unset, keep only masks the family's published evaluation sets
        keep (lama-*: at most half the image, as LaMa's gen_mask_dataset.py; others publish no
        rule).

    Examples
    --------
    >>> EvalMaskSpec("lama-thick").spec.max_coverage
    0.5
    >>> EvalMaskSpec("lama-thick", eval_rule=False).spec == MaskSpec("lama-thick")
    True
    """

    kind: str = field()  # required: a set names its family, unlike a build
    max_coverage: float | None = None
    eval_rule: bool = True

    def __post_init__(self) -> None:
        if self.max_coverage is None:
            rule = published_max_coverage(self.kind) if self.eval_rule else 1.0
            object.__setattr__(self, "max_coverage", rule)
        super().__post_init__()

    @property
    def spec(self) -> MaskSpec:
        """The resolved bounds as a plain :class:`MaskSpec` (what ``masks.json`` records)."""
        return MaskSpec(**{f.name: getattr(self, f.name) for f in fields(MaskSpec)})


def family_params(kind: str) -> dict[str, dict]:
    """The default parameters a kind draws with: family → config as a dict (all of a mixture)."""
    kinds = [kind]
    if kind == "mixed":
        kinds += [k for k, _ in FAMILIES["mixed"][1].weights]
    return {k: asdict(FAMILIES[k][1]) for k in kinds}


def _write_png(path: Path, mask: np.ndarray) -> None:
    with atomic_path(path, keep_suffix=True) as tmp:
        if not cv2.imwrite(str(tmp), mask * np.uint8(255)):
            raise OSError(f"could not write {path}")


def _prepare(out: Path, overwrite: bool) -> None:
    index = out / INDEX
    if index.is_file():
        if not overwrite:
            raise ConfigError(f"{out} already holds a mask set; pass --overwrite to replace it")
        for entry in json.loads(index.read_text()).get("masks", []):
            (out / entry["file"]).unlink(missing_ok=True)
        index.unlink()
    elif out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not a mask set; choose an empty folder")
    out.mkdir(parents=True, exist_ok=True)


def write_mask_set(
    out: str | os.PathLike,
    spec: MaskSpec,
    *,
    size: int,
    count: int,
    seed: int = 0,
    buckets: tuple[CoverageRange, ...] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Write ``count`` masks of ``size`` x ``size`` as PNGs (255 = hole) and ``masks.json``.

    Parameters
    ----------
    out : path
        Output folder (created; must be empty or hold a previous set with ``overwrite``).
    spec : MaskSpec
        Family and coverage bounds (bounds are replaced by the buckets when given).
    size, count, seed : int
    buckets : tuple of CoverageRange, optional
        Balance the set over these buckets (see :data:`facedata.masks.BUCKETS`).
    overwrite : bool
        Replace a previous set in ``out``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        The content of ``masks.json``: ``kind``, ``size``, ``seed``, ``key``, ``spec``,
        ``params`` (family → parameters), ``buckets``, ``histogram`` (bucket → count),
        ``missed`` (masks outside their range), and ``masks`` (per mask: ``file``,
        ``family``, ``coverage``, ``bucket``, ``target``, ``in_range``, ``tries``, ``info``).

    Raises
    ------
    ConfigError
        For a family that needs a face (``part``), a bad count or size, or an occupied folder.
    """

    if spec.kind in NEEDS_FACE:
        raise ConfigError(
            f"{spec.kind!r} masks hide parts of a face and need its label map; draw them in a "
            f"build (`facedata build --mask-kind {spec.kind}`) or preview them "
            f"(`facedata preview masks --kind {spec.kind}`)"
        )
    if count < 1 or size < 8:
        raise ConfigError(f"need --count >= 1 and --size >= 8, got {count} and {size}")
    out = Path(out)
    _prepare(out, overwrite)
    digits = max(5, len(str(count - 1)))
    entries = []
    for k in progress_bar(range(count), unit="mask", desc=f"masks {spec.kind}", show=progress):
        target = buckets[k % len(buckets)] if buckets else None
        mask, info = spec.sample(seed, EVAL_KEY, k, size, size, target=target)
        name = f"{k:0{digits}d}.png"
        _write_png(out / name, mask)
        family, value = info.pop("family"), info.pop("coverage")
        entries.append(
            {
                "file": name,
                "family": family,
                "coverage": value,
                "bucket": bucket_of(value),
                "target": (target or spec.target).name,
                "in_range": info.pop("in_range"),
                "tries": info.pop("tries"),
                "info": info,
            }
        )
    index = {
        "kind": spec.kind,
        "size": size,
        "seed": seed,
        "key": EVAL_KEY,
        "spec": asdict(spec),
        "params": family_params(spec.kind),
        "buckets": [b.name for b in buckets] if buckets else None,
        "histogram": histogram(e["coverage"] for e in entries),
        "missed": sum(not e["in_range"] for e in entries),
        "masks": entries,
    }
    write_json_atomic(out / INDEX, index)
    return index
