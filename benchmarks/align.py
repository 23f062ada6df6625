"""Landmarks on aligned images: detection through a 640 px copy against a smaller one.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/align.py                # ~10 s
    PYTHONPATH=$PWD python benchmarks/align.py --crops 24 --sizes 640,320,256,192

Aligned sources (CelebA-HQ, CelebAMask-HQ) get landmarks for their metadata only; their face
fills the frame, so the detector can see a small copy (``AlignConfig.aligned_detect_size``).
Inputs, 1024 x 1024: FFHQ crops of scikit-image's ``astronaut`` photo, each aligned from
landmarks perturbed by up to 6° of rotation, 7 % of scale and 6 px of shift (the spread of a
dataset's alignment), and drawn demo faces. Per detect size: median time of a call (resize,
detection, 68 landmarks on the full image), faces found, and the mean distance (px, at 1024²)
of the landmarks from those found through the first size and, for the crops, from the
landmarks found on the photo itself carried into the crop. The predictor is trained on
photographs; on the drawn faces its landmarks move by several pixels with any change of the
box, so the photo crops are the accuracy measure.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from facedata.align import LandmarkDetector, align_ffhq, transform_points
from facedata.sources import SourceConfig, get_source
from facedata.sources.demo import write_demo_tree

SIZE = 1024


def photo_crops(detector: LandmarkDetector, count: int) -> tuple[list, list]:
    """Aligned crops, and the photo's own landmarks carried into each crop."""
    from skimage import data

    photo = data.astronaut()
    landmarks = detector(photo)[0].landmarks
    centre = landmarks.mean(0)
    rng = np.random.default_rng(0)
    crops, carried = [], []
    for _ in range(count):
        angle, scale = np.deg2rad(rng.uniform(-6, 6)), rng.uniform(0.93, 1.07)
        c, s = np.cos(angle), np.sin(angle)
        moved = (landmarks - centre) @ (scale * np.array([[c, -s], [s, c]])).T
        moved += centre + rng.uniform(-6, 6, 2)
        crop, matrix = align_ffhq(photo, moved.astype(np.float32), size=SIZE)
        crops.append(crop)
        carried.append(transform_points(landmarks, matrix))
    return crops, carried


def demo_faces(count: int) -> list[np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        source = get_source(
            SourceConfig(name="celebamask-hq", root=str(write_demo_tree(tmp, count=count)))
        )
        return [source.load(ref).image for ref in source.refs()]


def mean_errors(found: list, truth: list) -> str:
    errors = [np.linalg.norm(lm - ref, axis=1).mean()
              for lm, ref in zip(found, truth) if lm is not None and ref is not None]  # fmt: skip
    return f"{np.mean(errors):5.2f} px mean, {np.max(errors):5.2f} max" if errors else "-"


def measure(detector: LandmarkDetector, images, sizes, carried=None) -> None:
    found: dict[int, list] = {s: [] for s in sizes}
    times: dict[int, list] = {s: [] for s in sizes}
    for image in images:
        for size in sizes:
            start = time.perf_counter()
            faces = detector(image, detect_size=size)
            times[size].append(1000 * (time.perf_counter() - start))
            found[size].append(faces[0].landmarks if faces else None)
    for size in sizes:
        line = (f"  {size:5d} px: {np.median(times[size]):6.1f} ms median, "
                f"found {sum(lm is not None for lm in found[size])}/{len(images)}; landmarks "
                f"vs {sizes[0]} px: {mean_errors(found[size], found[sizes[0]])}")  # fmt: skip
        if carried is not None:
            line += f"; vs the photo's: {mean_errors(found[size], carried)}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crops", type=int, default=12, help="aligned photo crops")
    parser.add_argument("--faces", type=int, default=12, help="drawn demo faces")
    parser.add_argument("--sizes", default="640,384,256", help="detect sizes, reference first")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    detector = LandmarkDetector()
    print(f"{args.crops} aligned crops of the astronaut photo, {SIZE}²:")
    crops, carried = photo_crops(detector, args.crops)
    measure(detector, crops, sizes, carried)
    print(f"{args.faces} drawn demo faces, {SIZE}²:")
    measure(detector, demo_faces(args.faces), sizes)


if __name__ == "__main__":
    main()
