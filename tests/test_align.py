"""Landmarks, FFHQ alignment and the align stage."""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pytest

from facedata.align import (
    LandmarkDetector,
    align_ffhq,
    eye_centres,
    ffhq_quad,
    predictor_path,
    transform_points,
    warp_labels,
)
from facedata.errors import ConfigError
from facedata.labels import PALETTE, colorize
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.align import AlignConfig, AlignStage
from facedata.pipeline.stages import StageContext
from facedata.sample import Sample
from facedata.sources import SourceConfig


@pytest.fixture(scope="module")
def detector() -> LandmarkDetector:
    return LandmarkDetector()  # the predictor takes a while to read: once per module


def upright_landmarks(
    centre=(200.0, 150.0), d: float = 60.0, m: float = 70.0, angle: float = 0.0
) -> np.ndarray:
    """Landmarks with eye centres ``d`` apart and the mouth ``m`` below them, rotated."""
    lm = np.zeros((68, 2))
    lm[36:42] = (-d / 2, 0.0)
    lm[42:48] = (d / 2, 0.0)
    lm[48] = (-25.0, m)
    lm[54] = (25.0, m)
    t = np.deg2rad(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return lm @ rot.T + centre


def test_predictor_found_without_importing_its_package(monkeypatch):
    monkeypatch.delitem(sys.modules, "face_recognition_models", raising=False)
    path = predictor_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.is_file()
    assert "face_recognition_models" not in sys.modules  # its __init__ needs pkg_resources


def test_ffhq_quad_known_answer():
    d, m = 60.0, 70.0
    quad, qsize = ffhq_quad(upright_landmarks(d=d, m=m))
    s = max(2 * d, 1.8 * m)  # half side: x = (s, 0), y = (0, s)
    c = np.array([200.0, 150.0 + 0.1 * m])
    expected = [c + (-s, -s), c + (-s, s), c + (s, s), c + (s, -s)]
    np.testing.assert_allclose(quad, expected, atol=1e-9)
    assert qsize == pytest.approx(2 * s)


@pytest.mark.parametrize("angle", [0.0, 25.0, -40.0])
def test_landmarks_land_at_the_same_output_place_whatever_the_rotation(angle):
    d, m, size = 60.0, 70.0, 256
    lm = upright_landmarks(centre=(310.0, 240.0), d=d, m=m, angle=angle)
    image = np.zeros((480, 640, 3), np.uint8)
    _, matrix = align_ffhq(image, lm, size=size)
    s = max(2 * d, 1.8 * m)
    # Corner 0 of the quad is pixel (-0.5, -0.5); the eyes sit 0.1 m above the centre.
    u_left = (s - d / 2) / (2 * s) * size - 0.5
    u_right = (s + d / 2) / (2 * s) * size - 0.5
    v = (s - 0.1 * m) / (2 * s) * size - 0.5
    np.testing.assert_allclose(
        eye_centres(transform_points(lm, matrix)), [[u_left, v], [u_right, v]], atol=1e-3
    )


def test_warped_image_follows_the_transform():
    # Bright discs at the eyes of rotated landmarks: after alignment they sit where the
    # matrix sends the eye centres (checks the warp, the shrink and the supersampling).
    lm = upright_landmarks(centre=(900.0, 700.0), d=240.0, m=280.0, angle=30.0)
    image = np.full((1400, 1800, 3), 20, np.uint8)
    for x, y in eye_centres(lm):
        cv2.circle(image, (round(x * 16), round(y * 16)), 30 * 16, (250, 250, 250), -1,
                   cv2.LINE_AA, 4)  # fmt: skip
    aligned, matrix = align_ffhq(image, lm, size=200)
    expected = eye_centres(transform_points(lm, matrix))
    bright = aligned[..., 0].astype(np.float64) - 20
    for (ex, ey), half in zip(expected, (slice(0, 100), slice(100, 200))):
        ys, xs = np.mgrid[0:200, half]
        w = bright[:, half]
        assert (xs * w).sum() / w.sum() == pytest.approx(ex, abs=0.3)
        assert (ys * w).sum() / w.sum() == pytest.approx(ey, abs=0.3)


def test_rotated_and_shifted_photo_aligns_back(detector, photo):
    size = 256
    face = detector(photo)[0]
    aligned, matrix = align_ffhq(photo, face.landmarks, size=size)
    # The face near the top edge of a rotated, shifted copy: the padding path runs.
    rotation = cv2.getRotationMatrix2D((222.0, 127.0), 17.0, 1.0)
    rotation[:, 2] += (-30.0, -45.0)
    moved = cv2.warpAffine(photo, rotation, (512, 512), borderMode=cv2.BORDER_REFLECT_101)
    moved_face = detector(moved)[0]
    moved_aligned, moved_matrix = align_ffhq(moved, moved_face.landmarks, size=size)
    eyes = eye_centres(transform_points(face.landmarks, matrix))
    moved_eyes = eye_centres(transform_points(moved_face.landmarks, moved_matrix))
    np.testing.assert_allclose(moved_eyes, eyes, atol=3.0)
    centre = (slice(64, 192), slice(64, 192))
    diff = np.abs(aligned[centre].astype(int) - moved_aligned[centre].astype(int))
    assert diff.mean() < 12


def test_labels_follow_the_image_at_another_resolution():
    # Labels at half the image resolution, painted into the image with their palette colours;
    # the quad stays inside the image, so every output pixel has a label.
    rng = np.random.default_rng(0)
    labels = cv2.resize(rng.integers(0, 19, (8, 10), dtype=np.uint8), (200, 160),
                        interpolation=cv2.INTER_NEAREST)  # fmt: skip
    image = cv2.resize(colorize(labels), (400, 320), interpolation=cv2.INTER_NEAREST)
    lm = upright_landmarks(centre=(200.0, 150.0), d=50.0, m=60.0, angle=12.0)
    aligned, matrix = align_ffhq(image, lm, size=128, pad=False)
    warped = warp_labels(labels, matrix, size=128, image_shape=image.shape[:2])
    kernel = np.ones((3, 3), np.uint8)
    inside = cv2.erode(warped, kernel) == cv2.dilate(warped, kernel)  # away from boundaries
    inside[[0, -1], :] = inside[:, [0, -1]] = False  # the frame's own edge blends too
    same = np.abs(colorize(warped).astype(int) - aligned.astype(int)).max(-1) < 8
    assert inside.mean() > 0.7
    assert same[inside].all()
    assert set(np.unique(warped)) <= set(range(len(PALETTE)))


def test_detector_finds_the_face_and_its_parts(detector, photo):
    faces = detector(photo)
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    lm = faces[0].landmarks
    assert lm.shape == (68, 2) and lm.dtype == np.float32
    left, right = eye_centres(lm)
    assert x0 < left[0] < right[0] < x1 and y0 < left[1] < y1  # image-left eye first
    assert lm[30, 1] > left[1] and lm[57, 1] > lm[30, 1]  # nose below eyes, mouth below nose
    assert detector(np.full((200, 300, 3), 128, np.uint8)) == []


def test_aligned_face_found_through_a_small_copy(detector, photo):
    face = detector(photo)[0]
    aligned, _ = align_ffhq(photo, face.landmarks, size=1024)
    full = detector(aligned)  # through a 640 px copy
    small = detector(aligned, detect_size=256)
    assert len(full) == len(small) == 1
    error = np.linalg.norm(small[0].landmarks - full[0].landmarks, axis=1)
    assert error.mean() < 3.0 and error.max() < 8.0  # px at 1024²
    with pytest.raises(ValueError, match="at least 64"):
        detector(aligned, detect_size=32)


def test_config_rejects_what_cannot_work():
    with pytest.raises(ConfigError, match="--align must be one of"):
        AlignConfig(method="mtcnn")
    with pytest.raises(ConfigError, match="--all-faces crops each face"):
        AlignConfig(method="none", all_faces=True)
    with pytest.raises(ConfigError, match="--detect-size must be at least 64"):
        AlignConfig(detect_size=32)
    with pytest.raises(ConfigError, match="--aligned-detect-size must be at least 64"):
        AlignConfig(aligned_detect_size=32)


def test_stage_keeps_aligned_sources_and_aligns_photos(detector, photo, monkeypatch):
    stage = AlignStage(AlignConfig(), StageContext(size=128, seed=0))
    stage.setup()
    sizes = []
    call = LandmarkDetector.__call__
    monkeypatch.setattr(
        LandmarkDetector,
        "__call__",
        lambda self, image, **kw: sizes.append(kw.get("detect_size")) or call(self, image, **kw),
    )
    kept = Sample(key="a", image=photo.copy(), meta={"aligned": True})
    moved = Sample(key="b", image=photo.copy(), meta={"aligned": False})
    batch = [kept, moved]
    stage.run(batch)
    assert [s.key for s in batch] == ["a", "b"] and all(s.ok for s in batch)
    assert batch[0].image is kept.image and batch[0].meta["align"]["method"] == "none"
    assert batch[0].landmarks is not None and "aligned" not in batch[0].meta
    assert batch[1].image.shape == (128, 128, 3) and batch[1].meta["align"]["method"] == "ffhq"
    assert batch[1].meta["original_size"] == [512, 512]
    # The aligned image through a small copy, the photo as set, then the landmark gate's
    # re-fit on the photo's aligned crop through a small copy.
    assert sizes == [256, None, 256]


def _write(path, rgb):
    cv2.imwrite(str(path), rgb[..., ::-1])


def test_build_of_photos_reports_faceless_ones_and_splits_faces(tmp_path, photo):
    folder = tmp_path / "photos"
    folder.mkdir()
    small = cv2.resize(photo, (384, 384), interpolation=cv2.INTER_AREA)
    two = np.full((512, 1024, 3), 200, np.uint8)
    two[:, :512] = photo
    two[64:448, 576:960] = small[:, ::-1]
    _write(folder / "two.png", two)
    _write(folder / "wall.png", np.full((300, 300, 3), (120, 130, 140), np.uint8))
    source = SourceConfig(name="folder", root=str(folder))

    def run(out, all_faces):
        config = BuildConfig(
            out=str(tmp_path / out),
            size=96,
            maps=(),
            split="none",
            max_failure_rate=1.0,
            progress=False,
        )  # the wall fails: expected
        return build(config, source, {"align": AlignConfig(all_faces=all_faces)})

    report = run("largest", all_faces=False)
    assert report.written == 1
    lines = (tmp_path / "largest" / "failures.jsonl").read_text().splitlines()
    assert [json.loads(x)["key"] for x in lines] == ["folder-wall"]
    assert json.loads(lines[0])["stage"] == "align" and "no face" in json.loads(lines[0])["error"]

    from facedata.shards.reader import iter_samples

    report = run("every", all_faces=True)
    assert report.written == 2 and len(report.failures) == 1
    metas = {s["__key__"]: s["json"] for s in iter_samples(str(tmp_path / "every"), "all")}
    assert sorted(metas) == ["folder-two-f0", "folder-two-f1"]
    quads = [np.array(metas[k]["align"]["quad"]) for k in sorted(metas)]
    side = [np.hypot(*(q[3] - q[0])) for q in quads]
    assert side[0] > side[1]  # largest face first
    assert quads[1][:, 0].min() > 512  # the second face is the small one on the right
    for meta in metas.values():
        assert len(meta["landmarks"]) == 68 and meta["align"]["faces"] == 2
