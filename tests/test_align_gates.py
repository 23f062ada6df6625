"""Small faces, implausible landmarks and already-aligned crops, on a real photograph
(scikit-image's astronaut, NASA, public domain)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from facedata.align import Face, LandmarkDetector, align_ffhq, ffhq_quad
from facedata.align.ffhq import frame_error, padded_fraction
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.align import AlignConfig, AlignStage
from facedata.pipeline.stages import StageContext
from facedata.sample import Sample
from facedata.shards.inspect import format_summary, summarize
from facedata.shards.manifest import checksum
from facedata.shards.verify import verify
from facedata.sources import SourceConfig


def run(config: AlignConfig, image: np.ndarray, size: int = 256) -> list[Sample]:
    stage = AlignStage(config, StageContext(size=size, seed=0))
    stage.setup()
    batch = [Sample(key="a", image=image, meta={"aligned": False})]
    stage.run(batch)
    return batch


def test_frame_error_and_padded_fraction_known_answers():
    frame = np.array([[-0.5, -0.5], [-0.5, 99.5], [99.5, 99.5], [99.5, -0.5]])
    assert frame_error(frame, (100, 100)) == 0.0
    assert frame_error(frame + [3.0, 4.0], (100, 100)) == pytest.approx(0.05)
    # Identity map of a 100 x 50 image into a 100² output: the lower half is padding.
    assert padded_fraction(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (50, 100), 100) == 0.5
    assert padded_fraction(np.array([[0.5, 0, -10.0], [0, 0.5, -10.0]]), (400, 400), 100) == 0.0


def test_an_aligned_crop_is_recognised_and_kept(photo, landmarks):
    crop, _ = align_ffhq(photo, landmarks, size=256)
    [kept] = run(AlignConfig(), crop)
    assert kept.ok and kept.image is crop
    assert kept.meta["align"]["method"] == "none" and kept.meta["align"]["recognised"] == "ffhq"
    assert kept.meta["align"]["frame_error"] < 0.05 and kept.landmarks.shape == (68, 2)
    [redone] = run(AlignConfig(aligned_tolerance=0.0), crop)
    assert redone.meta["align"]["method"] == "ffhq"
    [photo_sample] = run(AlignConfig(), photo)  # a portrait is not taken for a crop
    assert photo_sample.meta["align"]["method"] == "ffhq"


def test_small_faces_fail_with_their_size_and_enlargement_is_recorded(photo, landmarks):
    side = ffhq_quad(landmarks)[1]  # about 175 px
    small = cv2.resize(photo, (192, 192), interpolation=cv2.INTER_AREA)
    [failed] = run(AlignConfig(), small)
    stage, message = failed.error
    assert stage == "align" and "--min-face-size 96" in message
    across = re.search(r"face 0 is (\d+) px across", message)
    assert across and int(across[1]) == pytest.approx(side * 192 / 512, rel=0.1)
    [kept] = run(AlignConfig(min_face_size=0), small, size=256)
    info = kept.meta["align"]
    assert kept.ok and info["enlargement"] == pytest.approx(256 / (side * 192 / 512), rel=0.05)
    assert 0.0 <= info["padded"] < 1.0
    [large] = run(AlignConfig(), photo)
    assert large.meta["align"]["enlargement"] == pytest.approx(256 / side, rel=1e-3)


def test_landmarks_that_do_not_fit_again_fail_the_face(photo, landmarks, monkeypatch):
    call = LandmarkDetector.__call__
    calls = []

    def misplaced(self, image, **kw):
        faces = call(self, image, **kw)
        calls.append(kw)
        if len(calls) > 1:  # the re-fit on the aligned crop sees the real face
            return faces
        # The eyes painted on the forehead: the whole shape moved up by an eye distance.
        eyes = landmarks[42:48].mean(0) - landmarks[36:42].mean(0)
        wrong = landmarks - [0.0, float(np.hypot(*eyes))]
        return [Face(box=faces[0].box, score=0.32, landmarks=wrong.astype(np.float32))]

    monkeypatch.setattr(LandmarkDetector, "__call__", misplaced)
    [failed] = run(AlignConfig(), photo)
    assert failed.error[0] == "align" and "implausible landmarks" in failed.error[1]
    assert "score 0.32" in failed.error[1]
    calls.clear()
    [kept] = run(AlignConfig(max_landmark_shift=0), photo)
    assert kept.ok and len(calls) == 1


def group_photo(photo: np.ndarray) -> np.ndarray:
    """The astronaut and a copy at 3/4 scale side by side: faces of about 174 and 129 px."""
    canvas = np.full((512, 896, 3), 128, np.uint8)
    canvas[:, :512] = photo
    canvas[64:448, 512:] = cv2.resize(photo, (384, 384), interpolation=cv2.INTER_AREA)
    return canvas


def test_rejected_faces_are_failure_lines_that_do_not_fail_the_build(tmp_path, photo):
    """A gate's rejections are reported apart from errors, by a real CLI process with two
    worker processes, and verify and inspect agree with failures.jsonl."""
    root = tmp_path / "photos"
    root.mkdir()
    cv2.imwrite(str(root / "group.png"), cv2.cvtColor(group_photo(photo), cv2.COLOR_RGB2BGR))
    args = [sys.executable, "-m", "facedata", "build", "--src", "folder", "--root", root,
            "--size", 128, "--maps", "parsing", "--align", "ffhq", "--all-faces",
            "--min-face-size", 150, "--workers", 2, "--no-progress"]  # fmt: skip

    def facedata(*extra):
        return subprocess.run([str(a) for a in [*args, *extra]], capture_output=True, text=True)

    done = facedata("--out", tmp_path / "a")
    assert done.returncode == 0, done.stderr  # 1 of 1 image rejected, default 1% limit
    assert "1 failed of 1 (1 rejected by a quality gate)" in done.stdout
    [line] = [json.loads(x) for x in (tmp_path / "a" / "failures.jsonl").read_text().splitlines()]
    assert line["key"].endswith("-f1") and line["reason"] == "small_face"
    assert "face 1 is 129 px across" in line["error"]
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert (manifest["attempted"], manifest["failed"], manifest["rejected"]) == (1, 1, 1)
    assert verify(tmp_path / "a").ok
    summary = summarize(tmp_path / "a")
    assert summary["rejected"] == 1 and summary["rejected_by_reason"] == {"small_face": 1}
    assert "(0 errors, 1 rejected by a quality gate)" in format_summary(summary)

    # An error still counts: one unreadable image of two is over the default limit.
    (root / "broken.jpg").write_bytes(b"")
    failed = facedata("--out", tmp_path / "b")
    assert failed.returncode == 1 and "failure rate 50.0% exceeds" in failed.stderr
    lines = [json.loads(x) for x in (tmp_path / "b" / "failures.jsonl").read_text().splitlines()]
    assert sorted(f.get("reason", "error") for f in lines) == ["error", "small_face"]
    assert verify(tmp_path / "b").ok  # the manifest is written either way


def test_verify_checks_the_rejection_count_and_accepts_older_builds(tmp_path, photo):
    root = tmp_path / "photos"
    root.mkdir()
    cv2.imwrite(str(root / "group.png"), cv2.cvtColor(group_photo(photo), cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    config = BuildConfig(out=str(out), size=64, maps=("parsing",), progress=False)
    align = AlignConfig(method="ffhq", all_faces=True, min_face_size=150)
    report = build(config, SourceConfig(name="folder", root=str(root)), {"align": align})
    assert report.rejected == 1 and report.failure_rate == 0.0
    path = out / "failures.jsonl"
    [line] = [json.loads(x) for x in path.read_text().splitlines()]
    del line["reason"]  # now an error line: the manifest's rejected count no longer holds
    path.write_text(json.dumps(line, sort_keys=True) + "\n")
    problems = verify(out).problems
    assert any("says 1 samples were rejected" in p and "lists 0" in p for p in problems)

    # A build from before rejections were counted: no key in its manifest, no reason in its
    # lines. It still verifies.
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["rejected"]
    manifest["checksum"] = checksum(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert verify(out).ok
