"""Split assignment: CelebA's partition joined on file names, SC-FEGAN's rule, errors."""

from __future__ import annotations

import pytest

from facedata.errors import ConfigError
from facedata.sample import SampleRef
from facedata.sources.splits import assign_splits, scfegan_splits


def _refs(files):
    return [SampleRef(key=f"k{i}", path="", orig_file=f) for i, f in enumerate(files)]


def test_celeba_partition_is_joined_on_file_name(tmp_path):
    part = tmp_path / "list_eval_partition.txt"
    # 1-based file names; the official helper's off-by-one would shift these.
    part.write_text("000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n000004.jpg 0\n")
    splits, rule = assign_splits(_refs(["000003.jpg", "000001.jpg", "000002.jpg", "000009.jpg"]),
                                 "auto", part)  # fmt: skip
    assert rule == "celeba"
    assert splits == ["test", "train", "val", None]


def test_auto_without_partition_uses_scfegan_rule():
    splits, rule = assign_splits(_refs([None] * 60), "auto", None)
    assert rule == "scfegan"
    assert splits == ["train"] * 58 + ["test"] * 2


def test_scfegan_rule_matches_paper_counts():
    s = scfegan_splits(30000)
    assert (s.count("train"), s.count("test")) == (29000, 1000)
    assert s[-1000:] == ["test"] * 1000


def test_celeba_split_requires_a_partition_file():
    with pytest.raises(ConfigError, match="list_eval_partition.txt"):
        assign_splits(_refs(["000001.jpg"]), "celeba", None)


def test_unknown_mode():
    with pytest.raises(ConfigError, match="auto, celeba, scfegan, none"):
        assign_splits(_refs(["a"]), "random", None)
