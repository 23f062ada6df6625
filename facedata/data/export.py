"""Export shards to plain folders, for trainers that read image files (LaMa, DeepFill, ...).

Layout: ``OUT/<split>/<field>/<key>.<ext>``, one folder per field (named as the field, e.g.
``jpg``, ``mask.png``, ``json``), every file named by its sample key, so the files of one sample
share a stem across folders. ``<ext>`` is the encoding the field's
:class:`~facedata.shards.fields.FieldSpec` in the manifest declares (``json`` for the
metadata), so a plugin's field exports like a built-in one. The bytes are copied from the tars
unchanged, so nothing is re-encoded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..io.atomic import atomic_path
from ..progress import progress_bar
from ..shards.derive import readable_fields
from ..shards.fields import manifest_specs
from ..shards.reader import iter_samples, load_manifest

FORMATS = ("folders",)


def export_folders(
    build: str | os.PathLike,
    out: str | os.PathLike,
    *,
    fields: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, int]:
    """Write every sample's fields of a build as files, one folder per split and field.

    The export is written to a temporary folder beside ``out`` and renamed when complete, so
    an interrupted export never leaves a partial ``out``.

    Parameters
    ----------
    build : path
        A finished facedata build (with ``manifest.json``).
    out : path
        Output folder; must not exist unless ``overwrite``.
    fields : sequence of str or None
        Fields to export (``None``: all).
    splits : sequence of str or None
        Splits to export (``None``: all).
    overwrite : bool
        Replace an existing ``out``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        Split → number of samples exported.

    Raises
    ------
    ConfigError
        When ``out`` exists, or a split or field is not in the build, or a field has no spec.
    """

    manifest = load_manifest(build)
    out = Path(out)
    chosen_splits = list(splits or manifest["splits"])
    stored = readable_fields(manifest)  # the left-out derived fields are computed
    chosen_fields = list(fields or stored)
    if unknown := [s for s in chosen_splits if s not in manifest["splits"]]:
        raise ConfigError(
            f"split(s) {', '.join(unknown)} not in {build}; it has {', '.join(manifest['splits'])}"
        )
    if unknown := [f for f in chosen_fields if f not in stored]:
        raise ConfigError(
            f"field(s) {', '.join(unknown)} not in {build}; it has {', '.join(stored)}"
        )
    specs = manifest_specs(manifest)
    if unknown := [f for f in chosen_fields if f != "json" and f not in specs]:
        raise ConfigError(
            f"{build} declares no field spec for {', '.join(unknown)}, so its file type is "
            "unknown; install the plugin that writes it, or leave it out of --fields"
        )
    suffixes = {f: "json" if f == "json" else specs[f].encoding for f in chosen_fields}
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} exists; pass --overwrite to replace it or choose another --out")
    counts = {}
    total = sum(manifest["splits"][s]["count"] for s in chosen_splits)
    with atomic_path(out) as tmp, progress_bar(total=total, unit="img", desc="export",
                                       show=progress) as bar:  # fmt: skip
        for split in chosen_splits:
            for field in chosen_fields:
                (tmp / split / field).mkdir(parents=True)
            counts[split] = 0
            for sample in iter_samples(build, split, decoded=False):
                key = sample["__key__"]
                for field in chosen_fields:
                    if field in sample:
                        path = tmp / split / field / f"{key}.{suffixes[field]}"
                        path.write_bytes(sample[field])
                counts[split] += 1
                bar.update(1)
    return counts
