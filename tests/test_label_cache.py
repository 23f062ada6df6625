"""Merged label maps are cached by part file size and time, and reused only when unchanged."""

from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pytest

from facedata.labels import CLASSES
from facedata.pipeline import BuildConfig, build
from facedata.sources import SourceConfig, get_source, label_cache
from facedata.sources.celebamask_hq import ANNOTATIONS, merge_parts, part_path, read_part


@pytest.fixture
def tree(demo_tree, tmp_path):
    return shutil.copytree(demo_tree, tmp_path / "tree")


def fresh_merge(root, image_id):
    anno = root / ANNOTATIONS
    parts = {n: read_part(part_path(anno, image_id, n)) for n in CLASSES[1:]}
    parts = {n: m for n, m in parts.items() if m is not None}
    return merge_parts(parts, next(iter(parts.values())).shape)


def cached_files():
    return sorted(label_cache.cache_dir().glob("*/*.png"))


def test_a_rebuild_reads_one_cached_map_per_image_and_writes_the_same_bytes(
    tree, tmp_path, monkeypatch
):
    source = SourceConfig(name="celebamask-hq", root=str(tree))
    maps = ("parsing", "face", "hair")
    build(BuildConfig(out=str(tmp_path / "a"), size=64, maps=maps, progress=False), source)
    assert len(cached_files()) == 12

    def no_decoding(path):
        raise AssertionError(f"{path} decoded again")

    monkeypatch.setattr("facedata.sources.celebamask_hq.read_part", no_decoding)
    report = build(BuildConfig(out=str(tmp_path / "b"), size=64, maps=maps, progress=False),
                   source)  # fmt: skip
    assert report.written == 12 and not report.failures
    a, b = (sorted((tmp_path / d).glob("*/*.tar")) for d in "ab")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_a_changed_added_or_removed_part_makes_a_new_merge(tree):
    source = get_source(SourceConfig(name="celebamask-hq", root=str(tree)))
    first = source.load_parsing(0)
    np.testing.assert_array_equal(first, fresh_merge(tree, 0))
    np.testing.assert_array_equal(source.load_parsing(0), first)  # a hit
    anno = tree / ANNOTATIONS
    hair = part_path(anno, 0, "hair")
    mask = cv2.imread(str(hair), cv2.IMREAD_UNCHANGED)
    mask[:100] = 0
    cv2.imwrite(str(hair), mask)
    changed = source.load_parsing(0)
    np.testing.assert_array_equal(changed, fresh_merge(tree, 0))
    assert not np.array_equal(changed, first)
    st = hair.stat()
    os.utime(hair, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched only: a new key
    hat = part_path(anno, 0, "hat")
    shutil.copyfile(hair, hat)  # an added part
    np.testing.assert_array_equal(source.load_parsing(0), fresh_merge(tree, 0))
    hat.unlink()
    np.testing.assert_array_equal(source.load_parsing(0), changed)
    assert len(cached_files()) == 4  # first, changed, with the hat, touched without it


def test_a_damaged_cache_entry_is_merged_again(tree):
    source = get_source(SourceConfig(name="celebamask-hq", root=str(tree)))
    expected = source.load_parsing(1)
    (entry,) = cached_files()
    entry.write_bytes(b"damaged")
    np.testing.assert_array_equal(source.load_parsing(1), expected)
    assert cv2.imread(str(entry), cv2.IMREAD_UNCHANGED) is not None  # rewritten
