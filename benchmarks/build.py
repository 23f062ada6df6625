"""Build throughput against a plain baseline and against the codec floor, in one run.

On the same N CelebAMask-HQ-layout images (demo drawings at 1024², three-channel part PNGs at
512² like the released files; see ``trees.py``):

(a) ``facedata build`` with every non-network map: parsing from annotations, face, hair,
    SC-FEGAN mask, XDoG sketch, colour map, HOG (landmark detection off: it is a network);
(b) a plain baseline computing the same maps one image at a time with the obvious library
    calls (Pillow, NumPy, OpenCV, scikit-image) and writing one PNG file per map;
(c) the codec floor: decoding the inputs and encoding the outputs, nothing else, with the
    build's own decoders; (c') the same with the part PNGs decoded by OpenCV, as the official
    ``g_mask.py`` reads them and as issue 18 measured the floor.

Targets (issue 18): (a) >= 8x (b), and (a) >= 0.75x (c), per process. (a) and (c) are also
measured with one process per core. Prints samples/s, the ratios, and (a)'s per-stage
time breakdown.

Two levers, each as (a) with one option changed, one process, a fresh label cache each:
the default landmark handling, with eyes from the annotations (``--annotated-eyes``) against
detection forced (``--no-annotated-eyes``, the former default); and (a) with
``--no-store-derived`` (samples/s and shard bytes against (a)).

    PYTHONPATH=. python benchmarks/build.py [--n 120] [--size 512] [--workers 2]
        [--color-exact-below 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import random
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from joblib import Parallel, delayed
from PIL import Image
from skimage.feature import hog as skimage_hog
from skimage.filters import gaussian
from skimage.morphology import remove_small_objects, thin
from trees import celebamask_tree

from facedata.features.color import Smoothing
from facedata.io.images import read_image, read_part_mask
from facedata.labels import CLASSES, FACE_CLASSES, LABEL
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.align import AlignConfig
from facedata.pipeline.color import ColorConfig
from facedata.pipeline.sketch import SketchConfig
from facedata.shards.codec import encode
from facedata.shards.reader import iter_samples, load_manifest
from facedata.sources import SourceConfig, get_source

MAPS = ("parsing", "face", "hair", "mask", "sketch", "color", "hog")
HERE = Path(__file__).resolve().parent


def _ref_scfegan():
    """The pure Python/PIL SC-FEGAN mask of benchmarks/masks.py (one reference, not two)."""
    spec = importlib.util.spec_from_file_location("bench_masks", HERE / "masks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ref_scfegan


# --- (b) the plain baseline ---------------------------------------------------------------


def baseline_sample(ref, source, size: int, out: Path, ref_scfegan) -> None:
    """Every map of one sample, computed the obvious way and written as files."""
    image = np.asarray(Image.open(ref.path).convert("RGB").resize((size, size), Image.BOX))
    anno = source.root / "CelebAMask-HQ-mask-anno"
    image_id = ref.meta["celeba_hq_id"]
    labels = np.zeros((512, 512), np.uint8)
    for label, name in enumerate(CLASSES[1:], 1):
        path = anno / str(image_id // 2000) / f"{image_id:05d}_{name}.png"
        if path.exists():
            part = np.asarray(Image.open(path))
            labels[(part[..., 0] if part.ndim == 3 else part) != 0] = label
    labels = np.asarray(Image.fromarray(labels).resize((size, size), Image.NEAREST))
    face = np.isin(labels, FACE_CLASSES).astype(np.uint8) * 255
    hair = (labels == LABEL["hair"]).astype(np.uint8) * 255
    mask = ref_scfegan(size, size, random.Random(ref.key), Image.fromarray(labels))
    # SC-FEGAN colour map: median 3, 20 bilateral passes, per-segment median colour.
    smooth = cv2.medianBlur(image, 3)
    for _ in range(20):
        smooth = cv2.bilateralFilter(smooth, 20, 30, 30)
    color = np.zeros_like(image)
    for label in np.unique(labels):
        region = labels == label
        color[region] = np.median(smooth[region], axis=0)
    hist, glyphs = skimage_hog(image, orientations=9, pixels_per_cell=(8, 8),
                               cells_per_block=(3, 3), channel_axis=-1, visualize=True)  # fmt: skip
    # XDoG on grey, then the pix2pix clean-up: threshold, thin, drop small components.
    gray = image.mean(axis=2) / 255.0
    sigma = 1.4 * size / 512
    dog = gaussian(gray, sigma) - 0.98 * gaussian(gray, 1.6 * sigma)
    lines = thin(dog < -0.005)
    sketch = remove_small_objects(lines, max_size=9, connectivity=2).astype(np.uint8) * 255
    stem = out / ref.key
    Image.fromarray(image).save(f"{stem}.jpg", quality=95)
    for name, arr in (("parsing", labels), ("face", face), ("hair", hair), ("sketch", sketch),
                      ("color", color)):  # fmt: skip
        Image.fromarray(arr).save(f"{stem}.{name}.png")
    mask.point(lambda v: 255 if v else 0).save(f"{stem}.mask.png")
    Image.fromarray((np.clip(glyphs / max(glyphs.max(), 1e-9), 0, 1) * 255).astype(np.uint8)).save(
        f"{stem}.hog.png"
    )
    np.save(f"{stem}.hog.npy", hist.astype(np.float16))
    Path(f"{stem}.json").write_text(json.dumps(ref.meta))


# --- (c) the codec floor ------------------------------------------------------------------


def opencv_part(path: Path):
    """A part PNG as the official ``g_mask.py`` reads it, and as issue 18 measured the floor."""
    return cv2.imread(str(path))[..., 0]


def codec_floor(refs, source, outputs: dict[str, dict], size: int, part=read_part_mask) -> None:
    """Decode each input (image and part PNGs, with ``part``) and encode each output field,
    nothing else. The default ``part`` is the build's own decoder, so the floor is no slower
    than the build's decoding."""
    anno = source.root / "CelebAMask-HQ-mask-anno"
    for ref in refs:
        read_image(ref.path, reduce_to=size)
        image_id = ref.meta["celeba_hq_id"]
        folder = anno / str(image_id // 2000)
        for path in folder.glob(f"{image_id:05d}_*.png"):
            part(path)
        for field, value in outputs[ref.key].items():
            encode(field, value)


def _chunks(items: list, n: int) -> list[list]:
    return [items[i::n] for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120, help="images (enough to amortise start-up)")
    parser.add_argument("--size", type=int, default=512, help="output side")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--gray-parts", action="store_true", help="the demo's 1-channel parts")
    parser.add_argument("--color-exact-below", type=float, default=None,
                        help="the colour stage's exact_below (default: the stage's; 0 = the "
                             "coarse-grid route alone)")  # fmt: skip
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="facedata-bench-"))
    root = celebamask_tree(tmp / "data", args.n, rgb_parts=not args.gray_parts)
    source_config = SourceConfig("celebamask-hq", root=str(root))
    source = get_source(source_config)
    refs = source.refs()
    stage_configs = {"align": AlignConfig(landmarks=False), "sketch": SketchConfig(method="xdog")}
    if args.color_exact_below is not None:
        smoothing = dataclasses.replace(Smoothing(), exact_below=args.color_exact_below)
        stage_configs["color"] = ColorConfig(smoothing=smoothing)

    def run_build(workers: int, name: str, cache: str, align=stage_configs["align"], **extra):
        # Each cache folder starts empty: a first build merges every part; a rebuild with the
        # same folder reads the merged label maps back.
        os.environ["FACEDATA_HOME"] = str(tmp / cache)
        shard_size = max(1, args.n // (2 * workers))
        config = BuildConfig(out=str(tmp / name), size=args.size, maps=MAPS, workers=workers,
                             progress=False, shard_size=shard_size, **extra)  # fmt: skip
        t0 = time.perf_counter()
        report = build(config, source_config, stage_configs | {"align": align})
        return time.perf_counter() - t0, report

    t_a1, report = run_build(1, "a1", "home-1")
    t_an, _ = run_build(args.workers, "an", "home-n")
    t_r1, rebuild = run_build(1, "r1", "home-1")
    t_eyes, eyes = run_build(1, "eyes", "home-eyes", align=AlignConfig())
    forced = AlignConfig(annotated_eyes=False)
    t_detect, detect = run_build(1, "detect", "home-detect", align=forced)
    t_lean, lean = run_build(1, "lean", "home-lean", store_derived=False)

    outputs = {s["__key__"]: {k: v for k, v in s.items() if k != "__key__"}
               for s in iter_samples(tmp / "a1")}  # fmt: skip
    t0 = time.perf_counter()
    codec_floor(refs, source, outputs, args.size)
    t_c1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    codec_floor(refs, source, outputs, args.size, part=opencv_part)
    t_cv = time.perf_counter() - t0
    t0 = time.perf_counter()
    Parallel(n_jobs=args.workers)(
        delayed(codec_floor)(chunk, source, {r.key: outputs[r.key] for r in chunk}, args.size)
        for chunk in _chunks(refs, args.workers)
    )
    t_cn = time.perf_counter() - t0

    ref_scfegan = _ref_scfegan()
    out_b = tmp / "b"
    out_b.mkdir()
    t0 = time.perf_counter()
    for ref in refs:
        baseline_sample(ref, source, args.size, out_b, ref_scfegan)
    t_b = time.perf_counter() - t0

    n = len(refs)
    times = {"a1": t_a1, "an": t_an, "r1": t_r1, "b": t_b, "c1": t_c1, "cn": t_cn, "cv": t_cv,
             "eyes": t_eyes, "detect": t_detect, "lean": t_lean}  # fmt: skip
    rate = {k: n / t for k, t in times.items()}
    print(f"{n} images {args.size}² on {os.cpu_count()} cores; maps: {', '.join(MAPS)}")
    print(f"(a) facedata build, 1 process   {rate['a1']:7.1f} samples/s")
    print(f"(a) facedata build, {args.workers} processes {rate['an']:7.1f} samples/s")
    print(f"(a) rebuild, merged labels cached, 1 process {rate['r1']:7.1f} samples/s")
    print(f"(b) plain baseline, 1 process   {rate['b']:7.1f} samples/s")
    print(f"(c) codec floor, 1 process      {rate['c1']:7.1f} samples/s")
    print(f"(c) codec floor, {args.workers} processes   {rate['cn']:7.1f} samples/s")
    print(f"(c') codec floor, parts decoded by OpenCV, 1 process {rate['cv']:7.1f} samples/s")
    print(f"(a)/(b), 1 process:   {rate['a1'] / rate['b']:5.1f}x  (target >= 8)")
    print(f"(a)/(b), {args.workers} processes: {rate['an'] / rate['b']:5.1f}x")
    print(f"(a)/(c), 1 process:   {rate['a1'] / rate['c1']:5.2f}x  (target >= 0.75)")
    print(f"(a)/(c), {args.workers} processes: {rate['an'] / rate['cn']:5.2f}x")
    print(f"(a)/(c'), 1 process:  {rate['a1'] / rate['cv']:5.2f}x;  rebuild/(c'): "
          f"{rate['r1'] / rate['cv']:5.2f}x")  # fmt: skip
    print(f"rebuild/(b), 1 process: {rate['r1'] / rate['b']:5.1f}x;  rebuild/(c): "
          f"{rate['r1'] / rate['c1']:5.2f}x")  # fmt: skip
    print("levers, 1 process, fresh label cache (x: vs (c) codec floor, 1 process):")
    for key, what in (("a1", "(a): no landmark detection at all"),
                      ("eyes", "default landmarks, eyes from annotations"),
                      ("detect", "landmarks detected (--no-annotated-eyes)"),
                      ("lean", "(a) with --no-store-derived")):  # fmt: skip
        print(f"  {what:<44} {rate[key]:7.1f} samples/s  {rate[key] / rate['c1']:5.2f}x")
    print(f"  eyes from annotations / detection: {t_detect / t_eyes:5.2f}x samples/s")
    # The levers' own stages, less exposed to the load than whole-build rates.
    for what, run in (("align ms/sample: annotations", eyes), ("detection", detect)):
        print(f"  {what:<30} {1000 * run.seconds.get('align', 0.0) / n:7.1f}")
    for what, run in (("hog + encode+write ms/sample: stored", report), ("left out", lean)):
        spent = sum(run.seconds.get(k, 0.0) for k in ("hog", "encode+write"))
        print(f"  {what:<38} {1000 * spent / n:7.1f}")
    bytes_a, bytes_lean = (
        sum(s["bytes"] for s in load_manifest(tmp / name)["splits"].values())
        for name in ("a1", "lean")
    )
    print(f"  shard bytes: stored {bytes_a / 2**20:.1f} MiB, --no-store-derived "
          f"{bytes_lean / 2**20:.1f} MiB ({1 - bytes_lean / bytes_a:.1%} less)")  # fmt: skip
    print("(a) per-stage ms per sample, 1 process (first build / rebuild):")
    for stage, seconds in sorted(report.seconds.items(), key=lambda kv: -kv[1]):
        if stage != "total":
            again = rebuild.seconds.get(stage, 0.0)
            print(f"  {stage:<14} {1000 * seconds / n:7.1f} {1000 * again / n:7.1f}")


if __name__ == "__main__":
    main()
