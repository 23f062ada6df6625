"""Sources: exact label maps from part PNGs, tables, folder keys, clear errors."""

from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pytest
from test_images import damaged
from test_schema import problems, validator

from facedata.errors import BadImageError, MissingDataError
from facedata.labels import CLASSES, LABEL
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.align import AlignConfig
from facedata.shards.reader import iter_samples
from facedata.shards.verify import verify
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


def test_folder_source_follows_folder_links_once_each(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "deep").mkdir(parents=True)
    cv2.imwrite(str(elsewhere / "deep" / "far.jpg"), np.zeros((8, 8, 3), np.uint8))
    root = tmp_path / "photos"
    (root / "own").mkdir(parents=True)
    cv2.imwrite(str(root / "own" / "near.png"), np.zeros((8, 8, 3), np.uint8))
    (root / "a_link").symlink_to(elsewhere, target_is_directory=True)
    (root / "b_same").symlink_to(elsewhere, target_is_directory=True)  # linked twice
    (elsewhere / "deep" / "back").symlink_to(root, target_is_directory=True)  # a loop
    source = get_source(SourceConfig("folder", root=str(root)))
    refs = source.refs()
    assert [r.meta["file"] for r in refs] == ["a_link/deep/far.jpg", "own/near.png"]
    assert [r.key for r in refs] == ["folder-a_link_deep_far", "folder-own_near"]
    assert source.load(refs[0]).image.shape == (8, 8, 3)


def g_mask_reference(anno, image_id, shape):
    """The official ``g_mask.py`` rule written out: ``cv2.imread``, channel 0, later parts
    overwrite earlier ones."""
    out = np.zeros(shape, np.uint8)
    for label, name in enumerate(CLASSES[1:], 1):
        path = part_path(anno, image_id, name)
        if os.path.exists(path):
            out[cv2.imread(str(path))[:, :, 0] != 0] = label
    return out


def test_sixteen_bit_parts_lose_values_below_256_as_in_g_mask(tmp_path):
    # g_mask.py's cv2.imread converts 16 bits to 8 by dropping the low byte.
    from PIL import Image

    make_tree(tmp_path)
    cloth = np.zeros((16, 16), np.uint16)
    cloth[12, :], cloth[13, :], cloth[14, :], cloth[15, :] = 1, 255, 256, 65535
    anno = tmp_path / "CelebAMask-HQ-mask-anno"
    Image.fromarray(cloth).save(part_path(anno, 2001, "cloth"))
    source = get_source(SourceConfig("celebamask-hq", root=str(tmp_path)))
    parsing = source.load(source.refs()[0]).parsing
    np.testing.assert_array_equal(parsing, g_mask_reference(anno, 2001, (16, 16)))
    assert (parsing[12:14] != LABEL["cloth"]).all() and (parsing[14:] == LABEL["cloth"]).all()


def test_coloured_parts_count_where_blue_is_non_zero_as_in_g_mask(tmp_path):
    make_tree(tmp_path)
    anno = tmp_path / "CelebAMask-HQ-mask-anno"
    hair = np.zeros((16, 16, 3), np.uint8)  # BGR, as cv2 writes it
    hair[0:3, :, 2] = 255  # red only: not hair for g_mask.py
    hair[3:5, :, 0] = 9  # blue only: hair
    cv2.imwrite(str(part_path(anno, 2001, "hair")), hair)
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[6:9, 3:8] = (0, 0, 200, 255)  # red in BGRA: no glasses
    rgba[9, 3:8] = (50, 0, 0, 0)  # blue under full transparency: alpha is dropped, glasses
    cv2.imwrite(str(part_path(anno, 2001, "eye_g")), rgba)
    source = get_source(SourceConfig("celebamask-hq", root=str(tmp_path)))
    parsing = source.load(source.refs()[0]).parsing
    np.testing.assert_array_equal(parsing, g_mask_reference(anno, 2001, (16, 16)))
    assert (parsing[0:3, 0] != LABEL["hair"]).all() and (parsing[3:5, 0] == LABEL["hair"]).all()
    assert (parsing[9, 3:8] == LABEL["eye_g"]).all() and (parsing[6:9, 3] != LABEL["eye_g"]).all()


def broken_hair(path, how):
    """Put a part file that exists but cannot be read where the part's file is (or would be)."""
    path.unlink(missing_ok=True)
    if how == "symlink loop":
        path.symlink_to(path)
    elif how == "dangling symlink":
        path.symlink_to(path.with_name("gone.png"))
    elif how == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))  # corrupt


BROKEN = ["symlink loop", "dangling symlink", "folder", "corrupt"]


@pytest.mark.parametrize("how", BROKEN)
def test_unreadable_part_file_is_an_error_not_an_absent_part(tmp_path, how):
    make_tree(tmp_path)
    broken_hair(part_path(tmp_path / "CelebAMask-HQ-mask-anno", 2001, "hair"), how)
    source = get_source(SourceConfig("celebamask-hq", root=str(tmp_path)))
    with pytest.raises(BadImageError, match="02001_hair.png"):
        source.load(source.refs()[0])


def test_unreadable_part_files_become_failure_lines(tmp_path, demo_tree):
    root = tmp_path / "tree"
    shutil.copytree(demo_tree, root, symlinks=True)
    anno = root / "CelebAMask-HQ-mask-anno"
    for image_id, how in enumerate(BROKEN):
        broken_hair(part_path(anno, image_id, "hair"), how)
    report = build(
        BuildConfig(
            out=str(tmp_path / "out"),
            size=32,
            maps=("parsing",),
            progress=False,
            max_failure_rate=1.0,
        ),
        SourceConfig("celebamask-hq", root=str(root)),
    )
    failed = {f["key"]: f for f in report.failures}
    assert sorted(failed) == [f"celebamask-hq-{i:06d}" for i in range(len(BROKEN))]
    assert all(f["stage"] == "load" and "_hair.png" in f["error"] for f in failed.values())
    assert report.written == 12 - len(BROKEN)


def test_two_files_for_one_id_are_one_failure_line(tmp_path, demo_tree):
    root = tmp_path / "tree"
    shutil.copytree(demo_tree, root)
    images = root / "CelebA-HQ-img"
    shutil.copy(images / "3.jpg", images / "0003.jpg")
    source = get_source(SourceConfig("celebamask-hq", root=str(root)))
    assert len(source.refs()) == 12
    out = tmp_path / "out"
    report = build(
        BuildConfig(out=str(out), size=32, maps=("parsing",), progress=False, max_failure_rate=1.0),
        SourceConfig("celebamask-hq", root=str(root)),
    )
    (failure,) = report.failures
    assert failure["key"] == "celebamask-hq-000003" and failure["stage"] == "load"
    assert "CelebA-HQ-img/0003.jpg, CelebA-HQ-img/3.jpg" in failure["error"]
    keys = [s["__key__"] for s in iter_samples(out)]
    assert len(keys) == len(set(keys)) == 11 and "celebamask-hq-000003" not in keys
    assert verify(out).ok


def test_celeba_hq_id_clash_is_a_failure(tmp_path):
    for name in ("7.jpg", "007.jpg", "8.jpg"):
        cv2.imwrite(str(tmp_path / name), np.zeros((8, 8, 3), np.uint8))
    source = get_source(SourceConfig("celeba-hq", root=str(tmp_path)))
    refs = source.refs()
    assert [r.key for r in refs] == ["celeba-hq-000007", "celeba-hq-000008"]
    with pytest.raises(MissingDataError, match=r"2 files claim id 7 .*007.jpg, .*/7.jpg"):
        source.load(refs[0])
    assert source.load(refs[1]).image.shape == (8, 8, 3)


def test_original_size_is_the_files_after_reduced_decoding_and_crop(tmp_path):
    (tmp_path / "CelebA-HQ-img").mkdir()
    cv2.imwrite(str(tmp_path / "CelebA-HQ-img" / "0.jpg"), np.full((256, 256, 3), 90, np.uint8))
    out = tmp_path / "hq"
    build(
        BuildConfig(out=str(out), size=64, maps=(), progress=False, split="none"),
        SourceConfig("celeba-hq", root=str(tmp_path)),
    )
    (sample,) = iter_samples(out)
    assert sample["json"]["original_size"] == [256, 256]  # decoded at 1/4 scale
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "tall.jpg"), np.full((120, 60, 3), 90, np.uint8))
    out = tmp_path / "folder"
    build(
        BuildConfig(out=str(out), size=32, maps=(), progress=False, split="none"),
        SourceConfig("folder", root=str(photos)),
        {"align": AlignConfig(method="none", landmarks=False)},
    )
    (sample,) = iter_samples(out)
    assert sample["json"]["original_size"] == [60, 120]
    assert sample["json"]["crop"] == [0, 30, 60]


def sideways_portraits(root):
    """The astronaut stored rotated a quarter turn: once with the EXIF tag that says so,
    once without it (a file that really holds a sideways face)."""
    from PIL import Image
    from skimage.data import astronaut

    root.mkdir()
    stored = Image.fromarray(np.rot90(astronaut(), 1))  # what a camera held sideways writes
    exif = stored.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    stored.save(root / "tagged.jpg", quality=95, exif=exif)
    stored.save(root / "untagged.jpg", quality=95)


def test_exif_orientation_is_applied_and_the_face_found(tmp_path):
    sideways_portraits(tmp_path / "photos")
    out = tmp_path / "out"
    report = build(
        BuildConfig(
            out=str(out), size=64, maps=(), progress=False, max_failure_rate=1.0, split="none"
        ),
        SourceConfig("folder", root=str(tmp_path / "photos")),
    )
    (sample,) = iter_samples(out)
    meta = sample["json"]
    assert meta["key"] == "folder-tagged" and meta["exif_orientation"] == 6
    assert meta["align"]["method"] == "ffhq" and meta["original_size"] == [512, 512]
    assert problems(validator("sample-metadata.schema.json"), meta) == []
    # Without the tag the same pixels hold a sideways face, which the detector misses.
    (failure,) = report.failures
    assert failure["key"] == "folder-untagged" and "no face" in failure["error"]


def test_damaged_jpeg_is_a_failure_line_unless_accepted(tmp_path):

    photos = tmp_path / "photos"
    photos.mkdir()
    damaged(tmp_path).rename(photos / "damaged.jpg")
    cv2.imwrite(str(photos / "fine.jpg"), np.full((64, 64, 3), 90, np.uint8))
    config = BuildConfig(
        out=str(tmp_path / "strict"), size=32, maps=(), progress=False, max_failure_rate=1.0
    )
    align = {"align": AlignConfig(method="none", landmarks=False)}
    report = build(config, SourceConfig("folder", root=str(photos)), align)
    (failure,) = report.failures
    assert failure["key"] == "folder-damaged" and "Corrupt JPEG data" in failure["error"]
    assert "--accept-damaged" in failure["error"] and report.written == 1
    config = BuildConfig(out=str(tmp_path / "lenient"), size=32, maps=(), progress=False)
    report = build(config, SourceConfig("folder", root=str(photos), accept_damaged=True), align)
    assert report.failures == [] and report.written == 2
