"""Simulated label edits: SDF interpolation, simple edits, the edits stage and its preview."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from edits_reference import dense_interpolation
from scipy import ndimage
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.errors import ConfigError, MissingDataError
from facedata.features.edits import (
    PARTS,
    SLIDING,
    EditConfig,
    fill_from_neighbours,
    grow_hair,
    interpolate_labels,
    lip_gap,
    move_part,
    open_mouth,
    random_edit,
    signed_distance,
)
from facedata.labels import CLASSES, LABEL
from facedata.pipeline import BuildConfig, build
from facedata.preview.config import PreviewConfig
from facedata.preview.edits import edits_grid
from facedata.seeding import sample_rng
from facedata.shards.reader import iter_samples, iter_shard, load_manifest
from facedata.sources import SourceConfig
from facedata.sources.celebamask_hq import merge_parts
from facedata.sources.demo import draw_parts

L = LABEL


def drawn_face(cx: float, cy: float, s: float, size: int = 256) -> np.ndarray:
    """A label map without occlusion between parts, so visible areas equal shape areas."""

    def ellipse(centre, axes):
        m = np.zeros((size, size), np.uint8)
        c = (round(centre[0]), round(centre[1]))
        cv2.ellipse(m, c, (round(axes[0] * s), round(axes[1] * s)), 0, 0, 360, 1, -1)
        return m

    labels = np.zeros((size, size), np.uint8)
    parts = [
        ("hair", ellipse((cx, cy - 70 * s), (60, 18))),
        ("skin", ellipse((cx, cy), (55, 45))),
        ("l_eye", ellipse((cx - 22 * s, cy - 12 * s), (10, 5))),
        ("r_eye", ellipse((cx + 22 * s, cy - 12 * s), (10, 5))),
        ("l_brow", ellipse((cx - 22 * s, cy - 24 * s), (12, 3))),
        ("nose", ellipse((cx, cy + 5 * s), (5, 10))),
        ("u_lip", ellipse((cx, cy + 24 * s), (16, 3))),
        ("l_lip", ellipse((cx, cy + 31 * s), (14, 3))),
        ("cloth", ellipse((cx, size), (100, 30))),
    ]
    for name, mask in parts:
        labels[mask > 0] = L[name]
    return labels


def demo_labels(i: int, size: int = 256) -> np.ndarray:
    parts, _ = draw_parts(np.random.default_rng([0, i]), size=size)
    return merge_parts(parts, (size, size))


def boundary(labels: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` of a label change (a reference computation with scipy)."""
    edge = np.zeros(labels.shape, bool)
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    return ndimage.binary_dilation(edge, iterations=width)


class TestSignedDistance:
    def test_matches_euclidean_distance(self):
        mask = np.zeros((64, 64), bool)
        mask[20:40, 10:50] = True
        sdf = signed_distance(mask)
        exact = ndimage.distance_transform_edt(mask) - ndimage.distance_transform_edt(~mask)
        assert np.array_equal(sdf > 0, mask)
        np.testing.assert_allclose(sdf, exact, rtol=0.05, atol=0.1)

    def test_empty_and_full(self):
        assert np.all(signed_distance(np.zeros((4, 5), bool)) == -9)
        assert np.all(signed_distance(np.ones((4, 5), bool)) == 9)

    def test_same_as_full_image_transforms(self):
        labels = demo_labels(4, size=128)
        for label in np.unique(labels):  # regions inside the image and along its border
            mask = (labels == label).astype(np.uint8)
            full = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
            full -= cv2.distanceTransform(1 - mask, cv2.DIST_L2, 5)
            np.testing.assert_allclose(signed_distance(mask > 0), full, atol=1e-4)


class TestInterpolate:
    def test_factor_0_and_1_give_the_inputs(self):
        a, b = demo_labels(0), demo_labels(1)
        assert np.array_equal(interpolate_labels(a, b, factor=0.0), a)
        assert np.array_equal(interpolate_labels(a, b, factor=1.0), b)

    def test_near_the_ends_only_boundary_pixels_change(self):
        a, b = demo_labels(2), demo_labels(3)
        near_a = interpolate_labels(a, b, factor=0.02)
        near_b = interpolate_labels(a, b, factor=0.98)
        assert np.all(boundary(a, 2)[near_a != a])
        assert np.all(boundary(b, 2)[near_b != b])
        assert (near_a != a).mean() < 0.01 and (near_b != b).mean() < 0.01

    def test_half_way_areas_lie_between(self):
        a = drawn_face(110, 120, 0.9)
        b = drawn_face(140, 132, 1.2)
        mid = interpolate_labels(a, b, factor=0.5)
        for label in np.union1d(np.unique(a), np.unique(b)):
            na, nb, nm = ((m == label).sum() for m in (a, b, mid))
            slack = 0.03 * max(na, nb) + 20  # rasterisation of the rebuilt boundaries
            assert min(na, nb) - slack <= nm <= max(na, nb) + slack, CLASSES[label]

    def test_parts_slide_to_the_middle(self):
        a = drawn_face(110, 120, 1.0)
        b = drawn_face(150, 120, 1.0)  # the same face 40 px to the right: no brow overlap
        mid = interpolate_labels(a, b, factor=0.5)
        for name in ("l_brow", "l_eye", "nose", "u_lip"):
            xs = np.nonzero(mid == L[name])[1]
            expected = np.nonzero(a == L[name])[1].mean() + 20
            assert xs.size and abs(xs.mean() - expected) < 1.5, name

    def test_class_in_one_map_only_shrinks_away_by_half_way(self):
        a = drawn_face(128, 128, 1.0)
        b = a.copy()
        b[b == L["hair"]] = 0
        areas = [(interpolate_labels(a, b, factor=t) == L["hair"]).sum() for t in (0, 0.2, 0.4)]
        assert areas[0] > areas[1] > areas[2] > 0
        assert (interpolate_labels(a, b, factor=0.6) == L["hair"]).sum() == 0

    def test_single_class_maps(self):
        blank, skin = np.zeros((32, 32), np.uint8), np.ones((32, 32), np.uint8)
        assert np.array_equal(interpolate_labels(blank, skin, factor=0.25), blank)
        assert np.array_equal(interpolate_labels(blank, skin, factor=0.75), skin)

    @pytest.mark.parametrize("pair, factor", [((0, 1), 0.3), ((2, 3), 0.5), ((4, 5), 0.8)])
    def test_matches_the_dense_computation(self, pair, factor):
        a, b = demo_labels(pair[0], size=192), demo_labels(pair[1], size=192)
        fast, dense = interpolate_labels(a, b, factor=factor), dense_interpolation(a, b, factor)
        differ = fast != dense
        # Only pixels where two fields tie to float rounding (or two sources are equally
        # near in the fill) may differ: a few, on class boundaries.
        assert differ.mean() < 1e-3 and boundary(dense, 1)[differ].all()

    def test_far_part_decides_a_wide_gap_as_in_the_dense_computation(self):
        # Hair against background and skin leaves a wide band no class claims half way;
        # there the eyes' fields, computed near the eyes only, are the largest. The window
        # check must notice and compute them everywhere.
        a = np.full((64, 64), L["hair"], np.uint8)
        b = np.zeros((64, 64), np.uint8)
        b[32:] = L["skin"]
        a[5:9, 5:11] = b[50:54, 50:56] = L["l_eye"]
        fast, dense = interpolate_labels(a, b, factor=0.5), dense_interpolation(a, b, 0.5)
        assert (dense == L["l_eye"]).sum() > 300  # the eye claims much of the band
        assert (fast != dense).mean() < 2e-3

    def test_rejects_bad_input(self):
        a = demo_labels(0)
        with pytest.raises(ValueError, match="differ in shape"):
            interpolate_labels(a, a[:-1], factor=0.5)
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            interpolate_labels(a, a, factor=1.5)
        with pytest.raises(ValueError, match="official ids"):
            interpolate_labels(a, np.full_like(a, 19), factor=0.5)


class TestSimpleEdits:
    def test_fill_from_neighbours(self):
        labels = np.array([[1, 1, 4, 4, 13, 13]], np.uint8)
        holes = np.array([[0, 0, 1, 1, 0, 0]], bool)
        assert fill_from_neighbours(labels, holes).tolist() == [[1, 1, 1, 13, 13, 13]]

    def test_fill_takes_the_nearest_source(self):
        labels = demo_labels(6)
        holes = np.isin(labels, list(SLIDING))
        _, (iy, ix) = ndimage.distance_transform_edt(holes, return_indices=True)
        exact = labels.copy()
        exact[holes] = labels[iy[holes], ix[holes]]
        out = fill_from_neighbours(labels, holes)
        # Chamfer distance: equally near sources (within 2 %) may be swapped, nothing else.
        assert (out != exact)[holes].mean() < 0.01
        np.testing.assert_array_equal(out[~holes], labels[~holes])

    def test_move_part_translates_it_exactly(self):
        a = drawn_face(128, 128, 1.0)
        moved = move_part(a, PARTS["l_eye"], shift=(5, -3))
        eye = a == L["l_eye"]
        assert np.array_equal(moved == L["l_eye"], np.roll(eye, (-3, 5), axis=(0, 1)))
        assert not (moved[eye & (moved != L["l_eye"])] == L["l_eye"]).any()
        assert set(np.unique(moved[eye & ~(moved == L["l_eye"])])) <= {L["skin"]}

    def test_move_part_scales_about_the_centroid(self):
        a = drawn_face(128, 128, 1.0)
        big = move_part(a, PARTS["mouth"], scale=1.3)
        for m in (a, big):
            assert np.isin(m, PARTS["mouth"]).any()
        area = [np.isin(m, PARTS["mouth"]).sum() for m in (a, big)]
        assert area[1] == pytest.approx(area[0] * 1.3**2, rel=0.1)

    def test_moved_part_stays_under_hair(self):
        a = drawn_face(128, 128, 1.0)
        moved = move_part(a, PARTS["l_brow"], shift=(0, -40))  # into the hair
        assert np.array_equal(moved == L["hair"], a == L["hair"])

    def test_grow_hair(self):
        a = drawn_face(128, 128, 1.0)
        hair = a == L["hair"]
        grown = grow_hair(a, pixels=6)
        added = (grown == L["hair"]) & ~hair
        assert np.all(grown[hair] == L["hair"]) and np.all(a[added] == 0)
        dist = ndimage.distance_transform_edt(~hair)
        assert dist[added].max() <= 6.5
        assert np.all(grown[(dist <= 5) & (a == 0)] == L["hair"])
        assert np.array_equal(grown[a != 0], a[a != 0])

    def test_thin_hair(self):
        a = drawn_face(128, 128, 1.0)
        hair = a == L["hair"]
        thin = grow_hair(a, pixels=-4)
        kept = thin == L["hair"]
        inner = ndimage.distance_transform_edt(hair)
        assert kept.sum() < hair.sum() and np.all(hair[kept])
        assert np.all(kept[inner > 5.5]) and not kept[hair & (inner <= 3)].any()
        assert set(np.unique(thin[hair & ~kept])) <= {0, L["skin"]}

    def test_open_and_close_mouth(self):
        labels = np.ones((64, 64), np.uint8)
        labels[20:25, 20:40] = L["u_lip"]
        labels[30:35, 20:40] = L["l_lip"]
        labels[25:30, 22:38] = L["mouth"]
        assert lip_gap(labels) == 5
        opened = open_mouth(labels, pixels=4)
        assert lip_gap(opened) == 9
        assert np.array_equal(np.nonzero(opened == L["u_lip"])[0], np.nonzero(labels == 11)[0] - 2)
        assert np.all(opened[23:32, 20:40] == L["mouth"])
        closed = open_mouth(labels, pixels=-20)  # limited to the gap: the lips meet
        assert lip_gap(closed) == 0 and not (closed == L["mouth"]).any()
        for lip in ("u_lip", "l_lip"):
            assert (closed == L[lip]).sum() == (labels == L[lip]).sum()
        assert np.array_equal(open_mouth(closed, pixels=-3), closed)


class TestRandomEdit:
    def test_deterministic_for_a_seed_and_valid_ids(self):
        a, b = demo_labels(4), demo_labels(5)
        config = EditConfig(probability=1.0)
        first = random_edit(a, b, sample_rng(3, "demo-000004", "edit", 0), config)
        again = random_edit(a, b, sample_rng(3, "demo-000004", "edit", 0), config)
        other = random_edit(a, b, sample_rng(4, "demo-000004", "edit", 0), config)
        assert np.array_equal(first[0], again[0]) and first[1] == again[1]
        assert first[1] != other[1]
        assert 0.25 <= first[1]["factor"] <= 0.75
        assert {op["op"] for op in first[1]["operations"]} <= {"hair", "move", "mouth"}
        for edited, _ in (first, other):
            assert edited.dtype == np.uint8 and edited.shape == a.shape
            assert edited.max() < len(CLASSES)

    def test_many_edits_only_valid_ids(self):
        for i in range(6):
            a, b = demo_labels(i, 128), demo_labels(i + 6, 128)
            edited, info = random_edit(a, b, np.random.default_rng(i), EditConfig(probability=1))
            assert edited.max() < len(CLASSES) and info["operations"]

    def test_no_reference_and_no_operations_keeps_the_map(self):
        a = demo_labels(0)
        edited, info = random_edit(a, None, np.random.default_rng(0), EditConfig(probability=0))
        assert np.array_equal(edited, a) and info == {"factor": 0.0, "operations": []}

    def test_config_is_checked(self):
        with pytest.raises(ConfigError, match="MIN <= MAX"):
            EditConfig(factor=(0.8, 0.2))


def _build(tree, out, **options):
    options = {"size": 128, "maps": ("parsing", "edits"), "shard_size": 5} | options
    config = BuildConfig(out=str(out), progress=False, **options)
    source = SourceConfig(name="celebamask-hq", root=str(tree))
    return build(config, source, overwrite=True)


def test_edits_build_round_trip_and_independent_of_batching(demo_tree, tmp_path):
    report = _build(demo_tree, tmp_path / "a", batch_size=2)
    assert report.written == 12 and not report.failures
    assert "parsing_edit.png" in load_manifest(tmp_path / "a")["fields"]
    samples = list(iter_samples(tmp_path / "a"))
    order = {s["__key__"]: i for i, s in enumerate(samples)}
    shard_of = {}
    for path in sorted((tmp_path / "a").glob("*/*.tar")):
        shard_of |= {s["__key__"]: path.name for s in iter_shard(path, decoded=False)}
    with_reference = 0
    for s in samples:
        edit = s["json"]["edit"]
        assert s["parsing_edit.png"].dtype == np.uint8 and s["parsing_edit.png"].ndim == 2
        assert s["parsing_edit.png"].max() < len(CLASSES)
        if edit["reference"] is not None:
            with_reference += 1
            ref = edit["reference"]
            assert shard_of[ref] == shard_of[s["__key__"]] and order[ref] < order[s["__key__"]]
            assert 0.25 <= edit["factor"] <= 0.75
    assert with_reference >= 12 - 4  # only the first sample of each of the 4 shards has none
    _build(demo_tree, tmp_path / "b", batch_size=5)
    for x, y in zip(samples, iter_samples(tmp_path / "b")):
        assert np.array_equal(x["parsing_edit.png"], y["parsing_edit.png"])
        assert x["json"]["edit"] == y["json"]["edit"]


def test_preview_edits(demo_tree, tmp_path):
    _build(demo_tree, tmp_path / "shards")
    grid = edits_grid(tmp_path / "shards", PreviewConfig(count=3, tile_size=40))
    assert grid.shape == (120, 120, 3)
    result = CliRunner().invoke(
        app,
        ["preview", "edits", "--shards", str(tmp_path / "shards"), "--out", str(tmp_path / "p.png"),
         "--n", "2", "--tile", "32"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "p.png")).shape == (64, 96, 3)
    missing = CliRunner().invoke(app, ["preview", "edits"])
    assert missing.exit_code != 0 and "--shards" in missing.output
    _build(demo_tree, tmp_path / "bare", maps=("edits",))
    with pytest.raises(MissingDataError, match="--maps parsing,edits"):
        edits_grid(tmp_path / "bare")
