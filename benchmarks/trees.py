"""Benchmark inputs: CelebAMask-HQ-layout trees of any size, with release-like part PNGs.

Drawing a demo face takes a fraction of a second, so a large tree repeats ``distinct`` drawn
faces under new ids (hard links where the file system allows). With ``rgb_parts`` every part
PNG is rewritten with three equal channels, as the released CelebAMask-HQ files are: they
decode about half as fast as the demo's one-channel PNGs, which is what a real build meets.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2

from facedata.sources.celebamask_hq import ANNOTATIONS, ATTRIBUTES, IMAGES, MAPPING, POSE
from facedata.sources.demo import write_demo_tree

PARTITION = "list_eval_partition.txt"


def _place(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def celebamask_tree(out: Path, n: int, *, distinct: int = 48, rgb_parts: bool = True) -> Path:
    """Write an ``n``-image CelebAMask-HQ tree under ``out`` from ``distinct`` drawn faces."""
    drawn = write_demo_tree(out / "drawn", count=min(n, distinct))
    if rgb_parts:
        for path in (drawn / ANNOTATIONS).glob("*/*.png"):
            part = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            cv2.imwrite(str(path), cv2.merge([part, part, part]))
    if n <= distinct:
        return drawn
    root = out / "tree"
    (root / IMAGES).mkdir(parents=True)
    tables = {
        name: (drawn / name).read_text().splitlines()
        for name in (MAPPING, ATTRIBUTES, POSE, PARTITION)
    }
    rows = {
        name: tables[name][skip:]
        for name, skip in ((MAPPING, 1), (ATTRIBUTES, 2), (POSE, 2), (PARTITION, 0))
    }
    mapping, attrs, pose, partition = (
        [tables[MAPPING][0]],
        [str(n), tables[ATTRIBUTES][1]],
        [str(n), tables[POSE][1]],
        [],
    )
    k = len(rows[MAPPING])
    for i in range(n):
        j = i % k
        _place(drawn / IMAGES / f"{j}.jpg", root / IMAGES / f"{i}.jpg")
        folder = root / ANNOTATIONS / str(i // 2000)
        folder.mkdir(parents=True, exist_ok=True)
        for part in (drawn / ANNOTATIONS / str(j // 2000)).glob(f"{j:05d}_*.png"):
            _place(part, folder / f"{i:05d}_{part.name.split('_', 1)[1]}")
        orig_file = f"{1000 + 7 * i + 1:06d}.jpg"  # a made-up CelebA file name per id
        mapping.append(f"{i} {1000 + 7 * i} {orig_file}")
        attrs.append(f"{i}.jpg " + rows[ATTRIBUTES][j].split(" ", 1)[1])
        pose.append(f"{i}.jpg " + rows[POSE][j].split(" ", 1)[1])
        partition.append(f"{orig_file} {rows[PARTITION][j].split()[1]}")
    for name, lines in (
        (MAPPING, mapping),
        (ATTRIBUTES, attrs),
        (POSE, pose),
        (PARTITION, partition),
    ):
        (root / name).write_text("\n".join(lines) + "\n")
    return root
