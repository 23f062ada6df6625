"""Sources: exact label maps from part PNGs, tables, folder keys, clear errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facedata.errors import MissingDataError
from facedata.labels import LABEL
from facedata.sources import SourceConfig, get_source
from facedata.sources.celebamask_hq import part_path
from facedata.sources.folder import keys_for


def _part(path, mask, colour=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.repeat(mask[..., None], 3, 2) if colour else mask
    cv2.imwrite(str(path), img.astype(np.uint8))


def make_tree(root, image_id=2001, with_header=True):
    """A one-image CelebAMask-HQ tree whose parts overlap in known ways."""
    (root / "CelebA-HQ-img").mkdir(parents=True)
    cv2.imwrite(
        str(root / "CelebA-HQ-img" / f"{image_id}.jpg"), np.full((32, 32, 3), 128, np.uint8)
    )
    anno = root / "CelebAMask-HQ-mask-anno"
    z = np.zeros((16, 16), np.uint8)
    skin = z.copy()
    skin[2:14, 2:14] = 255
    hair = z.copy()
    hair[0:5, :] = 255  # over the skin's top rows: hair (13) wins
    eye_g = z.copy()
    eye_g[6:9, 3:8] = 255
    l_eye = z.copy()
    l_eye[7, 4:6] = 255  # inside the glasses: the eye (4) wins over eye_g (3)
    cloth = z.copy()
    cloth[12:16, :] = 200  # any non-zero value counts
    for name, m in {"skin": skin, "hair": hair, "eye_g": eye_g, "l_eye": l_eye}.items():
        _part(part_path(anno, image_id, name), m)
    _part(part_path(anno, image_id, "cloth"), cloth, colour=False)
    rows = ["idx orig_idx orig_file"] if with_header else []
    rows.append(f"{image_id} 119613 119614.jpg")
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(rows) + "\n")
    expected = np.zeros((16, 16), np.uint8)
    expected[2:14, 2:14] = LABEL["skin"]
    expected[6:9, 3:8] = LABEL["eye_g"]
    expected[7, 4:6] = LABEL["l_eye"]
    expected[0:5, :] = LABEL["hair"]
    expected[12:16, :] = LABEL["cloth"]
    return expected


@pytest.mark.parametrize("with_header", [True, False])
def test_celebamask_label_map_is_exact(tmp_path, with_header):
    expected = make_tree(tmp_path, with_header=with_header)
    source = get_source(SourceConfig("celebamask-hq", root=str(tmp_path)))
    (ref,) = source.refs()
    assert ref.key == "celebamask-hq-002001"
    assert ref.orig_file == "119614.jpg"
    sample = source.load(ref)
    np.testing.assert_array_equal(sample.parsing, expected)
    assert sample.image.shape == (32, 32, 3)


def test_missing_required_part_is_an_error(tmp_path):
    make_tree(tmp_path)
    part_path(tmp_path / "CelebAMask-HQ-mask-anno", 2001, "skin").unlink()
    source = get_source(SourceConfig("celebamask-hq", root=str(tmp_path)))
    with pytest.raises(MissingDataError, match="02001_skin.png is missing"):
        source.load(source.refs()[0])


def test_no_annotations_at_all_names_the_folder(tmp_path):
    make_tree(tmp_path)
    for p in (tmp_path / "CelebAMask-HQ-mask-anno" / "1").iterdir():
        p.unlink()
    source = get_source(SourceConfig("celebamask-hq", root=str(tmp_path)))
    with pytest.raises(MissingDataError, match=r"no part masks for id 2001 under .*/1/"):
        source.load(source.refs()[0])


def test_missing_root_explains_layout(tmp_path):
    source = get_source(SourceConfig("celebamask-hq", root=str(tmp_path / "nope")))
    with pytest.raises(MissingDataError, match="CelebAMask-HQ-mask-anno/0 ... 14") as err:
        source.refs()
    assert "github.com/switchablenorms/CelebAMask-HQ" in str(err.value)


def test_demo_tree_attributes_and_pose(demo_tree):
    source = get_source(SourceConfig("celebamask-hq", root=str(demo_tree)))
    refs = source.refs()
    assert len(refs) == 12
    lines = (demo_tree / "CelebAMask-HQ-attribute-anno.txt").read_text().splitlines()
    names, first = lines[1].split(), lines[2].split()
    assert first[0] == "0.jpg"
    expected = {n: v == "1" for n, v in zip(names, first[1:])}
    assert refs[0].meta["attributes"] == expected
    assert set(refs[0].meta["pose"]) == {"yaw", "pitch", "roll"}


def test_celeba_hq_reads_a_celebamask_root(demo_tree):
    source = get_source(SourceConfig("celeba-hq", root=str(demo_tree)))
    refs = source.refs()
    assert [r.key for r in refs[:2]] == ["celeba-hq-000000", "celeba-hq-000001"]
    assert refs[0].orig_file == "001001.jpg"
    assert source.load(refs[0]).parsing is None


def test_default_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEDATA_DATA", str(tmp_path))
    assert get_source(SourceConfig("celeba-hq")).root == tmp_path / "celeba-hq"


def test_folder_keys_have_no_dots_and_do_not_clash():
    keys = keys_for(["a/b.c.jpg", "a/b_c.png", "x y.png"], "folder")
    assert all("." not in k and "/" not in k for k in keys)
    assert len(set(keys)) == 3
    assert keys[2] == "folder-x_y"


def test_folder_source_recurses_and_survives_symlink_loops(tmp_path):
    (tmp_path / "sub").mkdir()
    for rel in ("one.jpg", "sub/two.png"):
        cv2.imwrite(str(tmp_path / rel), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    refs = get_source(SourceConfig("folder", root=str(tmp_path))).refs()
    assert [r.key for r in refs] == ["folder-one", "folder-sub_two"]


def test_sixteen_bit_part_masks_count_every_non_zero_pixel(tmp_path):
    from PIL import Image

    expected = make_tree(tmp_path)
    cloth = np.zeros((16, 16), np.uint16)
    cloth[12:16, :] = 1  # would vanish if 16 bits were scaled down to 8
    Image.fromarray(cloth).save(part_path(tmp_path / "CelebAMask-HQ-mask-anno", 2001, "cloth"))
    source = get_source(SourceConfig("celebamask-hq", root=str(tmp_path)))
    np.testing.assert_array_equal(source.load(source.refs()[0]).parsing, expected)
