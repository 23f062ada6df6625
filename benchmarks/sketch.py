"""Speed and fidelity of the sketch clean-up against the straightforward implementation.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/sketch.py               # ~20 s
    PYTHONPATH=$PWD python benchmarks/sketch.py --faces 8 --rounds 5
    PYTHONPATH=$PWD python benchmarks/sketch.py --photos /work/photos/aligned

Inputs: scikit-image's ``astronaut`` photo (with ``--photos``, every image of a folder of
aligned face photos too) and drawn demo faces, at 512 x 512, through XDoG (sigma 1.4, the
stage's setting). Each step of :mod:`facedata.features.sketch` is timed against
``tests/sketch_reference.py`` (trigonometric NMS direction, ``skimage`` thinning, a per-pixel
Python stroke walk, one Gaussian filter and one polyline call per stroke, XDoG's channel
maximum through ``ndarray.max``; the adaptive XDoG step by step with every scale at full
size), the two interleaved so that a busy machine slows both alike. A time is the best of
``--repeat`` calls; every round gives one ratio per image, and the table shows the median and
range of those ratios. Fidelity: line pixels of both drawings and the mean distance (px) from
each drawing's pixels to the other's.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from benchmarks.timing import best_ms
from facedata.features import sketch
from facedata.io.images import read_image
from facedata.pipeline.maps import resize_image
from facedata.sources import SourceConfig, get_source
from facedata.sources.demo import write_demo_tree
from tests import sketch_reference as reference

SIZE = 512
THRESHOLD = sketch.SketchStyle().threshold


def images(n_faces: int, photos: str | None = None) -> list[tuple[str, np.ndarray]]:
    from skimage import data

    out = [("astronaut", resize_image(data.astronaut(), SIZE))]
    for path in sorted(Path(photos).iterdir()) if photos else ():
        out.append((f"photo:{path.stem}", resize_image(read_image(path)[0], SIZE)))
    with tempfile.TemporaryDirectory() as tmp:
        source = get_source(
            SourceConfig(name="celebamask-hq", root=str(write_demo_tree(tmp, count=n_faces)))
        )
        out += [(ref.key, resize_image(source.load(ref).image, SIZE)) for ref in source.refs()]
    return out


def steps(image: np.ndarray) -> dict[str, tuple]:
    """Step name -> (reference call, fast call), each on the output of the step before."""
    edge = sketch.xdog_edges(image, sigma=1.4)
    lines = sketch.nms(edge) >= THRESHOLD
    thin = sketch.remove_specks(sketch.thin(lines), min_pixels=10)
    return {
        "xdog": (
            lambda: reference.xdog_edges(image, sigma=1.4),
            lambda: sketch.xdog_edges(image, sigma=1.4),
        ),
        "nms": (lambda: reference.nms(edge), lambda: sketch.nms(edge)),
        "thin": (lambda: reference.thin(lines), lambda: sketch.thin(lines)),
        "strokes+smooth": (
            lambda: reference.smooth_strokes(thin, sigma=1.5),
            lambda: sketch.smooth_strokes(thin, sigma=1.5),
        ),
        "clean": (lambda: reference.clean(edge), lambda: sketch.clean(edge)),
        "xdog+clean": (
            lambda: reference.clean(reference.xdog_edges(image, sigma=1.4)),
            lambda: sketch.clean(sketch.xdog_edges(image, sigma=1.4)),
        ),
        "adaptive xdog": (
            lambda: reference.xdog_sketch(image, half=False),
            lambda: sketch.xdog_sketch(image),
        ),
        "adaptive+finish": (
            lambda: sketch.finish(reference.xdog_sketch(image, half=False)),
            lambda: sketch.finish(sketch.xdog_sketch(image)),
        ),
    }


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    to_b = cv2.distanceTransform((~b).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return float(to_b[a].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=4, help="drawn demo faces (default 4)")
    parser.add_argument("--repeat", type=int, default=3, help="calls per timing (best kept)")
    parser.add_argument("--rounds", type=int, default=3, help="timings per image and step")
    parser.add_argument("--photos", help="a folder of face photos timed with the astronaut")
    args = parser.parse_args()

    cases = images(args.faces, args.photos)
    print(f"{len(cases)} images at {SIZE}x{SIZE}: {len(cases) - args.faces} photos + "
          f"{args.faces} demo faces\n")  # fmt: skip
    print("fidelity (reference clean-up vs fast, same XDoG map):")
    for name, image in cases:
        edge = sketch.xdog_edges(image, sigma=1.4)
        old, new = reference.clean(edge) > 0, sketch.clean(edge) > 0
        print(f"  {name:22s} line px {old.sum():6d} -> {new.sum():6d}   mean distance "
              f"old->new {mean_distance(old, new):.3f} px, new->old "
              f"{mean_distance(new, old):.3f} px")  # fmt: skip
    print("fidelity (adaptive XDoG, every scale at full size vs coarse scales at half size):")
    for name, image in cases:
        old, new = reference.xdog_sketch(image, half=False), sketch.xdog_sketch(image)
        print(f"  {name:22s} line px {old.sum():6d} -> {new.sum():6d}   "
              f"{'identical' if np.array_equal(old, new) else 'differ'}; mean distance "
              f"old->new {mean_distance(old, new):.3f} px, new->old "
              f"{mean_distance(new, old):.3f} px")  # fmt: skip

    times: dict[str, dict[str, list]] = {}
    for _ in range(args.rounds):
        for name, image in cases:
            for step, (slow, fast) in steps(image).items():
                t_slow, t_fast = best_ms(slow, args.repeat), best_ms(fast, args.repeat)
                row = times.setdefault(step, {"photo": [], "faces": []})
                row["faces" if name.startswith("celebamask") else "photo"].append((t_slow, t_fast))

    print(f"\nms per 512² image (median), ratio median [range] over {args.rounds} rounds")
    print(f"  {'step':15s} {'photo ref':>9s} {'fast':>6s} {'ratio':>17s}   "
          f"{'faces ref':>9s} {'fast':>6s} {'ratio':>17s}")  # fmt: skip
    for step, row in times.items():
        cells = []
        for kind in ("photo", "faces"):
            pairs = np.array(row[kind])
            ratio = pairs[:, 0] / pairs[:, 1]
            cells.append(
                f"{np.median(pairs[:, 0]):9.1f} {np.median(pairs[:, 1]):6.1f} "
                f"{np.median(ratio):5.1f}x [{ratio.min():4.1f}-{ratio.max():4.1f}]"
            )
        print(f"  {step:15s} {cells[0]}   {cells[1]}")


if __name__ == "__main__":
    main()
