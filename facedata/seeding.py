"""Per-sample random generators: any sample's outputs can be regenerated alone.

A generator depends only on (global seed, sample key, stream name, index), never on the order
in which samples are processed or on which worker processes them.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _words(text: str) -> list[int]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def sample_rng(seed: int, key: str, stream: str, index: int = 0) -> np.random.Generator:
    """Return the generator for one sample, one purpose and one index.

    Parameters
    ----------
    seed : int
        The build's global seed.
    key : str
        The sample key.
    stream : str
        What the numbers are for (``"mask"``, ``"edit"`` ...), so stages never share draws.
    index : int
        The k-th draw of that stream, e.g. the k-th mask of a sample.

    Examples
    --------
    >>> a = sample_rng(0, "demo-000001", "mask", 2).integers(1 << 30)
    >>> b = sample_rng(0, "demo-000001", "mask", 2).integers(1 << 30)
    >>> bool(a == b)
    True
    """
    entropy = [seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, *_words(key), *_words(stream), index]
    return np.random.default_rng(np.random.SeedSequence(entropy))
