"""Assigning train / val / test splits."""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import ConfigError
from ..sample import SampleRef
from .tables import read_partition

SPLIT_MODES = ("auto", "celeba", "scfegan", "none")
CELEBA_NAMES = {0: "train", 1: "val", 2: "test"}


def scfegan_splits(n: int) -> list[str]:
    """SC-FEGAN's rule scaled to ``n`` samples: the last ``ceil(n / 30)`` are the test set.

    Examples
    --------
    >>> scfegan_splits(30000).count("test")
    1000
    """
    n_test = math.ceil(n / 30)
    return ["train"] * (n - n_test) + ["test"] * n_test


def assign_splits(
    refs: list[SampleRef], mode: str, partition_file: Path | None
) -> tuple[list[str | None], str]:
    """Give each sample a split.

    Parameters
    ----------
    refs : list of SampleRef
        Samples in source order.
    mode : {"auto", "celeba", "scfegan", "none"}
        ``auto`` uses CelebA's official partition when a partition file is available and the
        samples carry CelebA file names, else the SC-FEGAN rule.
    partition_file : path or None
        CelebA's ``list_eval_partition.txt``.

    Returns
    -------
    splits : list of str or None
        One split name per sample; ``None`` where a sample is absent from the partition.
    rule : str
        The rule used (``celeba``, ``scfegan`` or ``none``), for the manifest.
    """
    if mode not in SPLIT_MODES:
        raise ConfigError(f"--split must be one of {', '.join(SPLIT_MODES)}, not {mode!r}")
    if mode == "none":
        return ["all"] * len(refs), "none"
    have_names = any(r.orig_file for r in refs)
    if mode == "celeba" or (mode == "auto" and partition_file and have_names):
        if partition_file is None:
            raise ConfigError(
                "--split celeba needs CelebA's list_eval_partition.txt: put it under the root "
                "or pass --partition-file"
            )
        if not have_names:
            raise ConfigError(
                "--split celeba needs CelebA file names (CelebA-HQ-to-CelebA-mapping.txt)"
            )
        partition = read_partition(partition_file)
        # Joined on the CelebA file name: the official helper's 0- vs 1-based index bug
        # cannot happen this way.
        return [
            CELEBA_NAMES[partition[r.orig_file]] if r.orig_file in partition else None for r in refs
        ], "celeba"
    return list(scfegan_splits(len(refs))), "scfegan"
