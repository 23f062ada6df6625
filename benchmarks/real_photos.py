"""Figures of issue 17 on a folder of real photographs, built without network weights.

Builds ``--src folder`` (FFHQ alignment, every face) with parsing and sketch, reads the shards
back and prints:

- faces written and failure lines by reason;
- parsing: hair present (> 0.5% of the image) in faces whose photo shows hair, distinct classes
  per sample, time per map of the offline parser (one core);
- sketches: line pixels per sample (share of samples in 1-12%), share of line pixels in
  fragments under 20 px (median), samples with more than 30% of their line pixels in
  axis-aligned runs of 6 px or more;
- with ``--aligned DIR`` (a folder of already aligned crops): PSNR of each output against its
  input under ``--align auto`` (median, min);
- with ``--demo``: hair IoU of the offline parser against the demo faces' annotations, hats
  counted (a hat drawn as hair costs the hair's IoU), and its hat IoU on the faces with one;
- with ``--fringe FILE``: on hand-drawn fringe polygons (JSON: sample key -> ``[[x, y], ...]``
  in the output frame, ``[]`` for a bare forehead), the share of the fringe (the polygon
  inside the landmark forehead, above the brows) labelled skin, and the share of the bare
  forehead labelled hair.

    PYTHONPATH=. python benchmarks/real_photos.py /work/photos [--no-hair bald_guys,dogs]
        [--aligned /work/photos/aligned] [--demo] [--fringe FILE] [--size 512] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from facedata.features.head_parsing import head_parsing
from facedata.features.landmark_parsing import landmark_parsing
from facedata.io.images import read_image
from facedata.labels import LABEL
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.align import AlignConfig
from facedata.shards.reader import iter_samples
from facedata.sources import SourceConfig


def _build(root: str, out: Path, args, *, maps: tuple[str, ...], align: AlignConfig) -> list:
    config = BuildConfig(
        out=str(out), size=args.size, maps=maps, workers=args.workers, progress=False,
        max_failure_rate=1.0,
    )  # fmt: skip
    report = build(config, SourceConfig(name="folder", root=root), stage_configs={"align": align})
    # Failure lines grouped by their wording, numbers left out.
    reasons = Counter(re.sub(r"[\d.]+", "N", f["error"])[:70] for f in report.failures)
    limit = BuildConfig.max_failure_rate
    print(
        f"  {report.written} samples written, {len(report.failures)} failure lines: "
        f"{report.rejected} rejected by a quality gate, error rate {report.failure_rate:.1%} "
        f"({'within' if report.failure_rate <= limit else 'over'} the default {limit:.0%})"
    )
    for reason, n in reasons.most_common():
        print(f"    {n:4d}  {reason}")
    return list(iter_samples(str(out)))


def axis_run_share(lines: np.ndarray, run: int = 6) -> float:
    """Share of line pixels inside horizontal or vertical runs of at least ``run`` pixels."""
    on = lines > 0
    hits = np.zeros_like(on)
    for axis in (0, 1):
        a = np.moveaxis(on, axis, 1).astype(np.int32)
        kernel = np.ones((1, run), np.float32)
        full = cv2.filter2D(a.astype(np.float32), -1, kernel, anchor=(0, 0),
                            borderType=cv2.BORDER_CONSTANT) >= run  # fmt: skip
        covered = cv2.dilate(full.view(np.uint8), kernel.astype(np.uint8), anchor=(run - 1, 0))
        hits |= np.moveaxis(covered > 0, 1, axis) & on
    return float(hits.sum() / max(on.sum(), 1))


def fragment_share(lines: np.ndarray, min_pixels: int = 20) -> float:
    """Share of line pixels in 8-connected fragments of fewer than ``min_pixels`` pixels."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats((lines > 0).view(np.uint8), 8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    return float(sizes[sizes < min_pixels].sum() / max(sizes.sum(), 1))


def parsing_figures(samples: list, no_hair: tuple[str, ...]) -> None:
    visible = [s for s in samples if not any(t in s["json"]["file"] for t in no_hair)]
    hair = [(s["parsing.png"] == LABEL["hair"]).mean() > 0.005 for s in visible]
    classes = [len(np.unique(s["parsing.png"])) for s in samples]
    methods = Counter(s["json"]["maps"]["parsing"] for s in samples)
    cv2.setNumThreads(1)  # one core; CPU time, so other load on the machine does not count
    t0 = time.process_time()
    for s in samples:
        head_parsing(s["jpg"], np.asarray(s["json"]["landmarks"]))
    ms = (time.process_time() - t0) / max(len(samples), 1) * 1000
    print(f"  parsing methods: {dict(methods)}")
    hats = sum((s["parsing.png"] == LABEL["hat"]).mean() > 0.005 for s in samples)
    print(f"  hair present in {np.mean(hair):.1%} of {len(visible)} faces with hair visible")
    print(f"  hat drawn (> 0.5% of the image) on {hats} of {len(samples)} faces")
    print(f"  distinct classes per sample: {np.mean(classes):.2f}")
    print(f"  offline parser: {ms:.1f} ms CPU per {samples[0]['jpg'].shape[0]}² map, one thread")


def sketch_figures(samples: list) -> None:
    lines = [s["sketch.png"] for s in samples]
    share = np.array([(x > 0).mean() for x in lines])
    frags = [fragment_share(x) for x in lines]
    runs = np.array([axis_run_share(x) for x in lines])
    print(f"  sketch: {Counter(s['json']['maps']['sketch'] for s in samples)}")
    print(f"  line pixels: median {np.median(share):.2%}; in 1-12%: "
          f"{np.mean((share >= 0.01) & (share <= 0.12)):.1%} of samples")  # fmt: skip
    print(f"  line pixels in fragments < 20 px: median {np.median(frags):.1%}")
    print(f"  samples with > 30% of line pixels in axis-aligned runs: {(runs > 0.3).sum()} "
          f"of {len(runs)} (median share {np.median(runs):.1%})")  # fmt: skip


def aligned_figures(root: str, tmp: Path, args) -> None:
    samples = _build(root, tmp / "aligned", args, maps=("parsing",), align=AlignConfig())
    psnr = []
    for s in samples:
        source, _ = read_image(str(Path(root) / s["json"]["file"]))
        if source.shape[:2] != (args.size, args.size):
            source = cv2.resize(source, (args.size,) * 2, interpolation=cv2.INTER_AREA)
        psnr.append(cv2.PSNR(source, s["jpg"]))
    methods = Counter(s["json"]["align"]["method"] for s in samples)
    print(f"  align methods: {dict(methods)}")
    print(f"  PSNR against the input: median {np.median(psnr):.1f} dB, min {np.min(psnr):.1f}")


def demo_figures(tmp: Path, args) -> None:
    config = BuildConfig(out=str(tmp / "demo"), size=args.size, maps=("parsing",),
                         workers=args.workers, progress=False)  # fmt: skip
    # Landmarks on the annotated faces too (they would take their eyes from the annotations).
    build(config, SourceConfig(name="demo"), {"align": AlignConfig(annotated_eyes=False)})
    ious, hats, hat_ious = [], [], []
    for s in iter_samples(str(tmp / "demo")):
        meta, truth = s["json"], s["parsing.png"]
        if "landmarks" not in meta or meta["maps"]["parsing"] != "annotations":
            continue
        if not (truth == LABEL["hair"]).any():
            continue
        labels = head_parsing(s["jpg"], np.asarray(meta["landmarks"]))
        ious.append(_iou(labels == LABEL["hair"], truth == LABEL["hair"]))
        hats.append((truth == LABEL["hat"]).any())
        if hats[-1]:
            hat_ious.append(_iou(labels == LABEL["hat"], truth == LABEL["hat"]))
    ious, hats = np.array(ious), np.array(hats)
    print(
        f"  demo hair IoU, hats counted: mean {ious.mean():.3f} over {len(ious)} faces with "
        f"hair; {ious[~hats].mean():.3f} over the {(~hats).sum()} without a hat, "
        f"{ious[hats].mean():.3f} over the {hats.sum()} with one"
    )
    print(f"  demo hat IoU on the faces with a hat: {np.round(hat_ious, 2).tolist()}")


def _iou(drawn: np.ndarray, want: np.ndarray) -> float:
    return float((drawn & want).sum() / max((drawn | want).sum(), 1))


def fringe_figures(samples: list, path: str) -> None:
    polygons = {k: v for k, v in json.loads(Path(path).read_text()).items() if k[0] != "_"}
    by_key = {s["json"]["key"]: s for s in samples}
    missing = sorted(set(polygons) - set(by_key))
    figures: dict[str, tuple[list, list]] = {"segmentation": ([], []), "landmarks": ([], [])}
    for key in sorted(set(polygons) & set(by_key)):
        image, landmarks = by_key[key]["jpg"], np.asarray(by_key[key]["json"]["landmarks"])
        parts = landmark_parsing(landmarks, image.shape[:2])
        forehead = parts == LABEL["skin"]
        forehead[int(landmarks[17:27, 1].min()) :] = False  # above the brows
        drawn = np.zeros(image.shape[:2], np.uint8)
        if polygons[key]:
            cv2.fillPoly(drawn, [np.asarray(polygons[key], np.int32)], 1)
        fringe, bare = forehead & (drawn > 0), forehead & (drawn == 0)
        for name, labels in (("segmentation", head_parsing(image, landmarks)),
                             ("landmarks", parts)):  # fmt: skip
            if fringe.any():
                figures[name][0].append((labels[fringe] == LABEL["skin"]).mean())
            if bare.sum() > 200:
                figures[name][1].append((labels[bare] == LABEL["hair"]).mean())
    for name, (skin, hair) in figures.items():
        print(
            f"  {name}: fringe labelled skin {np.mean(skin):.1%} (mean of {len(skin)} faces), "
            f"bare forehead labelled hair {np.mean(hair):.1%} (mean of {len(hair)})"
        )
    if missing:
        print(f"  not in this build: {', '.join(missing)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument(
        "--no-hair",
        default="bald_guys,dogs",
        help="comma-separated file-name parts of photos without visible hair",
    )
    parser.add_argument("--aligned", default=None)
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--fringe", default=None, help="JSON of hand-drawn fringe polygons")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"{args.root} (--align ffhq --all-faces, parsing + sketch, {args.size}²):")
        samples = _build(args.root, tmp / "photos", args, maps=("parsing", "sketch"),
                         align=AlignConfig(method="ffhq", all_faces=True))  # fmt: skip
        parsing_figures(samples, tuple(t for t in args.no_hair.split(",") if t))
        sketch_figures(samples)
        if args.fringe:
            print(f"fringe ({args.fringe}):")
            fringe_figures(samples, args.fringe)
        if args.aligned:
            print(f"{args.aligned} (--align auto):")
            aligned_figures(args.aligned, tmp, args)
        if args.demo:
            print("demo faces:")
            demo_figures(tmp, args)


if __name__ == "__main__":
    main()
