"""The mask families, coverage control, seeding and packing (facedata.masks)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from facedata.errors import ConfigError, MissingDataError
from facedata.labels import LABEL, class_centroid
from facedata.masks import (
    BUCKETS,
    FAMILIES,
    GENERATORS,
    LAMA_PRESETS,
    CoverageRange,
    DeepFillMaskConfig,
    GFCMaskConfig,
    MaskContext,
    MaskSpec,
    MixedMaskConfig,
    PartMaskConfig,
    SCFEGANMaskConfig,
    box_mask,
    bucket_of,
    coverage,
    deepfill_mask,
    gfc_mask,
    histogram,
    lama_mask,
    make_mask,
    mixed_mask,
    pack_masks,
    parse_buckets,
    part_mask,
    scfegan_mask,
    unpack_masks,
)
from facedata.masks.base import draw_stroke
from facedata.masks.bounds import draw_within
from facedata.masks.part import PARTS
from facedata.sources.demo import demo_face


@pytest.fixture(scope="module")
def face256():
    """The demo face's label map at 256 as a context."""
    return MaskContext(labels=demo_face(size=256)[1])


def rng(i: int = 0) -> np.random.Generator:
    return np.random.default_rng(i)


# --- every family ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FAMILIES))
@pytest.mark.parametrize("shape", [(64, 64), (97, 131), (300, 300)])
def test_every_family_draws_binary_masks_at_any_size(kind, shape):
    h, w = shape
    context = MaskContext(labels=demo_face(size=max(shape))[1][:h, :w].copy())
    for i in range(4):
        mask, info = GENERATORS[kind](h, w, rng(i), context)
        assert mask.shape == (h, w) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 1}
        assert mask.any()
        again, named = make_mask(kind, h, w, rng(i), context)
        assert np.array_equal(mask, again) and named == {"family": kind, **info}


def test_unknown_kind_names_the_choices():
    with pytest.raises(ConfigError, match="unknown mask kind 'nope'.*deepfill"):
        make_mask("nope", 8, 8, rng())
    with pytest.raises(ConfigError, match="unknown mask kind"):
        MaskSpec("nope")


# --- determinism ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FAMILIES))
def test_kth_mask_depends_only_on_seed_key_k(kind, face256):
    spec = MaskSpec(kind, min_coverage=0.02, max_coverage=0.9)
    alone, info = spec.sample(7, "demo-000003", 2, 256, 256, face256)
    for k in range(3):  # drawing other masks and samples first changes nothing
        spec.sample(7, "demo-000003", k, 256, 256, face256)
        spec.sample(7, "demo-000004", k, 256, 256, face256)
    again, info_again = spec.sample(7, "demo-000003", 2, 256, 256, face256)
    assert np.array_equal(alone, again) and info == info_again
    others = [
        spec.sample(7, "demo-000003", 3, 256, 256, face256)[0],
        spec.sample(8, "demo-000003", 2, 256, 256, face256)[0],
        spec.sample(7, "demo-000005", 2, 256, 256, face256)[0],
    ]
    if kind != "part":  # a part mask can repeat: a face has few parts
        assert all(not np.array_equal(alone, o) for o in others)


# --- coverage control -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["scfegan", "deepfill", "lama-medium", "box", "mixed"])
def test_coverage_stays_within_bounds(kind, face256):
    spec = MaskSpec(kind, min_coverage=0.15, max_coverage=0.35, max_tries=200)
    for k in range(12):
        mask, info = spec.sample(0, "s", k, 256, 256, face256)
        assert info["in_range"], info
        assert 0.15 <= coverage(mask) <= 0.35
        assert info["coverage"] == round(coverage(mask), 6)


def test_unreachable_bounds_keep_the_closest_and_flag_it():
    # A GFC square always covers a quarter: 0.5-0.6 is out of reach.
    spec = MaskSpec("gfc", min_coverage=0.5, max_coverage=0.6, max_tries=7)
    mask, info = spec.sample(0, "s", 0, 64, 64)
    assert info["in_range"] is False and info["tries"] == 7
    assert info["coverage"] == 0.25 == coverage(mask)


def test_draw_within_returns_the_first_hit_or_the_closest_miss():
    def drawer(fractions):
        it = iter(fractions)

        def draw():
            mask = np.zeros((1, 100), np.uint8)
            mask[0, : round(next(it) * 100)] = 1
            return mask, {"n": 1}

        return draw

    target = CoverageRange(0.4, 0.5)
    mask, info = draw_within(drawer([0.1, 0.45, 0.9]), target, max_tries=3)
    assert info == {"n": 1, "coverage": 0.45, "tries": 2, "in_range": True}
    mask, info = draw_within(drawer([0.1, 0.6, 0.2, 0.9]), target, max_tries=4)
    assert (info["coverage"], info["tries"], info["in_range"]) == (0.6, 4, False)


def test_buckets_are_half_open_and_named():
    assert [b.name for b in BUCKETS][:3] == ["0-10", "10-20", "20-30"]
    assert BUCKETS[-1].name == "90-100"
    assert bucket_of(0.0) == "0-10" and bucket_of(0.0999) == "0-10"
    assert bucket_of(0.1) == "10-20" and bucket_of(0.9) == "90-100" and bucket_of(1.0) == "90-100"
    counts = histogram([0.05, 0.15, 0.16, 0.95])
    assert counts["0-10"] == 1 and counts["10-20"] == 2 and counts["90-100"] == 1
    assert sum(counts.values()) == 4 and list(counts) == [b.name for b in BUCKETS]
    assert parse_buckets("10-20, 30-40") == (BUCKETS[1], BUCKETS[3])
    assert parse_buckets("all") == BUCKETS
    with pytest.raises(ConfigError, match="unknown coverage bucket.*15-25"):
        parse_buckets("15-25")


def test_bad_bounds_are_rejected():
    with pytest.raises(ConfigError, match="0 <= min <= max <= 1"):
        MaskSpec("box", min_coverage=0.6, max_coverage=0.4)
    with pytest.raises(ConfigError, match="max_tries"):
        MaskSpec("box", max_tries=0)


def test_bucket_targets_fill_a_balanced_histogram():
    wanted = parse_buckets("10-20,20-30,30-40,40-50")
    spec = MaskSpec("lama-thick", max_tries=200)
    values = []
    for k in range(40):
        mask, info = spec.sample(3, "eval", k, 64, 64, target=wanted[k % 4])
        assert info["in_range"]
        values.append(coverage(mask))
    assert histogram(values) == {b.name: (10 if b in wanted else 0) for b in BUCKETS}


# --- family behaviour -----------------------------------------------------------------------


def test_scfegan_strokes_reach_an_eye(face256):
    labels = face256.labels
    eyes = [class_centroid(labels, LABEL[n]) for n in ("l_eye", "r_eye")]
    config = SCFEGANMaskConfig(hair_probability=0.0)
    for i in range(10):
        mask, info = scfegan_mask(256, 256, rng(i), face256, config)
        assert info["eyes"] == 2 and info["eyes_from"] == "parsing" and info["hair"] is False
        assert any(mask[round(y), round(x)] for x, y in eyes)
    # From landmarks: the eye centre is the mean of points 36-41 / 42-47.
    lm = np.zeros((68, 2), np.float32)
    lm[:, 0], lm[:, 1] = np.linspace(60, 200, 68), 128
    lm[36:42], lm[42:48] = (90, 100), (170, 100)
    mask, info = scfegan_mask(256, 256, rng(1), MaskContext(landmarks=lm), config)
    assert info["eyes_from"] == "landmarks" and (mask[100, 90] or mask[100, 170])


def test_scfegan_strokes_start_inside_the_face_box():
    # Short strokes that cannot leave the landmarks' box, and lines to eyes inside it.
    lm = np.random.default_rng(0).uniform((100, 60), (140, 90), (68, 2)).astype(np.float32)
    config = SCFEGANMaskConfig(min_line=1, max_line=1, min_length=0, max_length=1, width=1)
    for i in range(10):
        mask, _ = scfegan_mask(256, 256, rng(i), MaskContext(landmarks=lm), config)
        ys, xs = np.nonzero(mask)
        assert xs.min() >= 99 and xs.max() <= 142 and ys.min() >= 59 and ys.max() <= 92


def test_scfegan_adds_hair_when_the_option_fires(face256):
    hair = face256.labels == LABEL["hair"]
    always = SCFEGANMaskConfig(hair_probability=1.0)
    mask, info = scfegan_mask(256, 256, rng(0), face256, always)
    assert info["hair"] is True and mask[hair].all()
    fired = [scfegan_mask(256, 256, rng(i), face256)[1]["hair"] for i in range(60)]
    assert 0.15 < np.mean(fired) < 0.55  # default probability 1/3


def test_scfegan_without_a_face_still_draws_and_says_so():
    mask, info = scfegan_mask(128, 128, rng(0))
    assert mask.any() and info["eyes"] == 0 and info["eyes_from"] is None
    assert info["hair"] is None


def test_deepfill_flips_really_happen():
    config = DeepFillMaskConfig(box=False)
    flips = set()
    for i in range(12):
        flipped, info = deepfill_mask(96, 128, rng(i), config=config)
        plain, _ = deepfill_mask(96, 128, rng(i), config=DeepFillMaskConfig(box=False, flip=False))
        expected = plain[:, ::-1] if info["flip"][0] else plain
        expected = expected[::-1] if info["flip"][1] else expected
        assert np.array_equal(flipped, expected)
        flips.add(tuple(info["flip"]))
    assert len(flips) == 4


def test_deepfill_box_is_half_the_image_shrunk_by_at_most_a_sixteenth():
    for i in range(20):
        mask, info = deepfill_mask(256, 256, rng(i))
        x0, y0, x1, y1 = info["box"]
        assert 128 - 2 * 16 <= x1 - x0 <= 128 and 128 - 2 * 16 <= y1 - y0 <= 128
        assert mask[y0:y1, x0:x1].all()


def test_stroke_rasteriser_matches_pil_line_with_round_joints():
    # DeepFillv2's brush: a PIL line plus a disc of the line width at every vertex.
    for i in range(5):
        r = rng(i)
        points = r.uniform(20, 236, (6, 2))
        width = int(r.integers(8, 30))
        ours = np.zeros((256, 256), np.uint8)
        draw_stroke(ours, points, width)
        ref = Image.new("L", (256, 256), 0)
        draw = ImageDraw.Draw(ref)
        draw.line([tuple(p) for p in np.round(points)], fill=1, width=width)
        for x, y in np.round(points):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=1)
        ref = np.asarray(ref)
        iou = np.logical_and(ours, ref).sum() / np.logical_or(ours, ref).sum()
        # The two rasterisers differ by about one pixel of width (OpenCV rounds odd widths up).
        assert iou > 0.9
        # Round joints and caps: a disc of the stroke's width around every vertex is covered.
        yy, xx = np.mgrid[:256, :256]
        for x, y in np.round(points):
            disc = (xx - x) ** 2 + (yy - y) ** 2 <= (width / 2 - 1) ** 2
            assert ours[disc].all()


@pytest.mark.parametrize(
    ("size", "reference", "scale"),
    [(256, 256, 1.0), (512, 512, 1.0), (128, 256, 0.5), (1024, 512, 2.0)],
)
def test_lama_presets_pick_and_scale_the_reference_size(size, reference, scale):
    for preset in ("thin", "medium", "thick"):
        _, info = lama_mask(size, size, rng(0), config=LAMA_PRESETS[preset])
        assert (info["reference"], info["scale"]) == (reference, scale)


def test_lama_boxes_follow_the_preset_table():
    thick = LAMA_PRESETS["thick"]
    boxes_only = type(thick)(**{**thick.__dict__, "box_weight": 1e9})
    for i in range(10):
        mask, info = lama_mask(512, 512, rng(i), config=boxes_only)
        assert 1 <= len(info["boxes"]) <= 4
        for x0, y0, x1, y1 in info["boxes"]:
            assert 30 <= x1 - x0 <= 300 and 30 <= y1 - y0 <= 300
            assert min(x0, y0) >= 10 and max(x1, y1) <= 502
    assert all("strokes" in lama_mask(256, 256, rng(i), config=LAMA_PRESETS["thin"])[1]
               for i in range(20))  # fmt: skip


def test_gfc_is_one_half_size_square():
    mask, info = gfc_mask(128, 128, rng(3))
    x0, y0, x1, y1 = info["box"]
    assert (x1 - x0, y1 - y0) == (64, 64) and mask.sum() == 64 * 64
    assert mask[y0:y1, x0:x1].all()
    mask, _ = gfc_mask(60, 100, rng(0), config=GFCMaskConfig(fraction=0.5))
    assert mask.sum() == 30 * 30


def test_box_masks_stay_inside_the_image():
    for i in range(20):
        mask, info = box_mask(50, 70, rng(i))
        for x0, y0, x1, y1 in info["boxes"]:
            assert 0 <= x0 < x1 <= 70 and 0 <= y0 < y1 <= 50
            assert mask[y0:y1, x0:x1].all()


@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("shape", ["blob", "box"])
def test_part_mask_covers_the_chosen_part(part, shape, face256):
    config = PartMaskConfig(parts=(part,), shapes=(shape,))
    seen = set()
    for i in range(4):
        mask, info = part_mask(256, 256, rng(i), face256, config)
        region = np.isin(face256.labels, [LABEL[c] for c in info["region"].split("+")])
        assert info["part"] == part and info["shape"] == shape
        assert region.any() and mask[region].all()
        if part != "hair":
            assert coverage(mask) < 0.1
        seen.add(info["region"])
    if part == "eye":
        assert seen <= {"l_eye", "r_eye"}


def test_part_blob_is_the_part_dilated_by_a_disc(face256):
    config = PartMaskConfig(parts=("nose",), shapes=("blob",))
    mask, info = part_mask(256, 256, rng(0), face256, config)
    g = info["grow"]
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * g + 1, 2 * g + 1))
    expected = cv2.dilate((face256.labels == LABEL["nose"]).astype(np.uint8), disc)
    assert g > 0 and np.array_equal(mask, expected)


def test_part_from_landmarks_and_without_a_face():
    lm = np.zeros((68, 2), np.float32)
    lm[:, 0], lm[:, 1] = 128, 128
    lm[48:60] = [(100, 180), (156, 180), (128, 200), (128, 170)] * 3  # the mouth's outline
    config = PartMaskConfig(parts=("mouth", "hair"), shapes=("box",))
    mask, info = part_mask(256, 256, rng(0), MaskContext(landmarks=lm), config)
    assert info["part"] == "mouth" and mask[170:201, 100:157].all()  # hair needs a label map
    with pytest.raises(MissingDataError, match="label map or 68 landmarks"):
        part_mask(64, 64, rng(0))
    with pytest.raises(ConfigError, match="parts are"):
        PartMaskConfig(parts=("ear",))


def test_mixed_picks_families_by_weight_and_skips_face_families_without_a_face():
    config = MixedMaskConfig(weights=(("gfc", 3.0), ("box", 1.0), ("part", 5.0)))
    families = [mixed_mask(32, 32, rng(i), config=config)[1]["family"] for i in range(400)]
    assert set(families) == {"gfc", "box"}
    assert 0.68 < families.count("gfc") / 400 < 0.82
    with pytest.raises(ConfigError, match="cannot contain 'mixed'"):
        MixedMaskConfig(weights=(("mixed", 1.0),))


def test_pack_and_unpack_round_trip_any_width():
    masks = (rng(0).random((3, 5, 13)) < 0.4).astype(np.uint8)
    packed = pack_masks(masks)
    assert packed.shape == (3, 5, 2) and packed.dtype == np.uint8
    assert np.array_equal(unpack_masks(packed, 13), masks)


def test_bounds_type_checks_its_limits():
    with pytest.raises(ConfigError):
        CoverageRange(-0.1, 0.5)
    assert CoverageRange(0.2, 0.3).contains(0.3) and not CoverageRange(0.2, 0.3, True).contains(0.3)
    assert CoverageRange(0.2, 0.3).distance(0.1) == pytest.approx(0.1)
