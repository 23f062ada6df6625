"""Speed and fidelity of the colour and HOG maps, fast routes against their references.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/features.py            # ~15 s
    PYTHONPATH=$PWD python benchmarks/features.py --faces 8 --torch
    PYTHONPATH=$PWD python benchmarks/features.py --bilateral-device cuda  # the Triton kernel

Colour maps: SC-FEGAN's full-resolution schedule (``naive``) against the default route
(coarse grid, small segments from full-resolution crops) and the coarse grid alone, in
milliseconds per 512 x 512 image on one OpenCV thread, and the per-segment difference of their
maps (largest channel difference of each segment's colour) on drawn demo faces (their own
parsing) and on photographs split into 19 SLIC superpixels. HOG: ``skimage.feature.hog``
against :func:`facedata.features.hog.hog`, and ``visualize=True`` against
:func:`render_glyphs`. Every time is the best of ``--repeat`` runs (the naive colour route runs
once).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import cv2
import numpy as np

from benchmarks.timing import best_ms
from facedata.features import color, hog
from facedata.pipeline.maps import resize_image, resize_labels
from facedata.sources import SourceConfig, get_source
from facedata.sources.demo import write_demo_tree

SIZE = 512
PHOTOS = ("astronaut", "coffee", "chelsea")


def cases(n_faces: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, 512x512 RGB image, label map) for demo faces and segmented photographs."""
    from skimage import data
    from skimage.segmentation import slic

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        source = get_source(
            SourceConfig(name="celebamask-hq", root=str(write_demo_tree(tmp, count=n_faces)))
        )
        for ref in source.refs():
            sample = source.load(ref)
            out.append(
                (ref.key, resize_image(sample.image, SIZE), resize_labels(sample.parsing, SIZE))
            )
    for name in PHOTOS:
        image = resize_image(getattr(data, name)(), SIZE)
        labels = slic(image, n_segments=19, compactness=10, start_label=0)
        out.append((name, image, np.minimum(labels, 18).astype(np.uint8)))
    return out


def segment_differences(a: np.ndarray, b: np.ndarray, labels: np.ndarray):
    """Per present label: (largest channel difference between maps a and b, pixel count)."""
    present = np.unique(labels)
    first = {k: tuple(np.argwhere(labels == k)[0]) for k in present}
    diff = np.array([np.abs(a[first[k]].astype(int) - b[first[k]]).max() for k in present])
    return diff, np.bincount(labels.ravel())[present]


def colour(n_faces: int, repeat: int, with_torch: bool) -> None:
    cv2.setNumThreads(1)  # one core, like one build worker
    rows = cases(n_faces)
    grid = color.Smoothing(exact_below=0)
    naive_ms, torch_ms, kinds = [], [], []
    routes = {"default": {}, "grid only": {"smoothing": grid}}
    ms = {route: [] for route in routes}
    diffs = {route: [] for route in routes}
    areas = []
    for name, image, labels in rows:
        start = time.perf_counter()
        naive = color.color_map(image, labels, smoothing=color.SCFEGAN)
        naive_ms.append(1000 * (time.perf_counter() - start))
        for route, options in routes.items():
            ms[route].append(best_ms(lambda: color.color_map(image, labels, **options), repeat))  # noqa: B023
            d, n = segment_differences(naive, color.color_map(image, labels, **options), labels)
            diffs[route].append(d)
        if with_torch:
            import torch

            images, label_maps = torch.from_numpy(image[None]), torch.from_numpy(labels[None])
            torch_ms.append(best_ms(lambda: color.color_map(images, label_maps), repeat))  # noqa: B023
        areas.append(n)
        kinds += ["photo" if name in PHOTOS else "face"] * len(d)
    n, kinds = np.concatenate(areas), np.array(kinds)
    naive_mean = np.mean(naive_ms)
    print(
        f"colour map, {len(rows)} images at {SIZE}x{SIZE} ({n_faces} demo faces, photos: "
        f"{', '.join(PHOTOS)}), one thread"
    )
    print(f"  naive (factor 1)      {naive_mean:8.1f} ms/image")
    for route in routes:
        mean = np.mean(ms[route])
        print(f"  {route:21s} {mean:8.1f} ms/image   {naive_mean / mean:6.1f}x faster")
    if torch_ms:
        print(f"  torch (default, CPU)  {np.mean(torch_ms):8.1f} ms/image")
    big = n >= 0.005 * SIZE * SIZE
    for route in routes:
        d = np.concatenate(diffs[route])
        print(f"  per-segment |{route} - naive|, largest channel difference (0-255):")
        for label, sel in (
            ("all segments", np.ones_like(big)),
            ("segments >= 0.5% of the image", big),
            ("face segments", kinds == "face"),
            ("photo segments", kinds == "photo"),
        ):
            print(
                f"    {label:30s} n={sel.sum():3d}  max {d[sel].max():3d}  p95 "
                f"{np.percentile(d[sel], 95):5.1f}  mean {d[sel].mean():5.2f}  "
                f"pixel-weighted mean {np.average(d[sel], weights=n[sel]):5.2f}"
            )


def hog_speed(repeat: int, with_torch: bool) -> None:
    from skimage import data
    from skimage.feature import hog as skimage_hog

    rgb = resize_image(data.astronaut(), SIZE)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    print(f"HOG at {SIZE}x{SIZE}, 9 orientations, 8x8 cells, 3x3 blocks, L2-Hys")
    for label, image, axis in (("RGB", rgb, -1), ("gray", gray, None)):
        ref = best_ms(lambda: skimage_hog(image, channel_axis=axis), repeat)  # noqa: B023
        ours = best_ms(lambda: hog.hog(image, channel_axis=axis), repeat)  # noqa: B023
        err = np.abs(skimage_hog(image, channel_axis=axis) - hog.hog(image, channel_axis=axis))
        print(
            f"  {label:4s} skimage {ref:6.1f} ms   facedata {ours:5.1f} ms   {ref / ours:5.1f}x"
            f"   max |diff| {err.max():.1e}"
        )

    def glyphs():
        hist = hog.cell_histograms(rgb, channel_axis=-1)
        return hog.render_glyphs(hist, shape=rgb.shape[:2])

    ref = best_ms(lambda: skimage_hog(rgb, channel_axis=-1, visualize=True), max(1, repeat // 2))
    ours = best_ms(glyphs, repeat)
    print(
        f"  glyphs: skimage visualize {ref:6.1f} ms   cell_histograms + render_glyphs "
        f"{ours:5.1f} ms   {ref / ours:5.1f}x"
    )
    if with_torch:
        import torch

        batch = torch.from_numpy(np.stack([rgb] * 8))
        ms = best_ms(lambda: hog.hog(batch, channel_axis=-1), repeat) / 8
        print(f"  torch route on CPU, batch of 8: {ms:5.1f} ms/image")


def time_bilateral_kernel(
    device: str, *, batch: int = 8, size: int = SIZE, repeat: int = 3
) -> dict:
    """SC-FEGAN's smoothing (``color.SCFEGAN``: median, 20 bilateral passes) of a batch on
    ``device``, timed, and checked against OpenCV on the first image.

    The batch is the astronaut at ``size`` x ``size`` and its mirror images. Returns ``route``
    (``"triton"`` when the fused kernel ran, else ``"tensor loop"``), ``ms_per_image`` (best
    of ``repeat``, the device synchronised), and ``max_diff`` and ``differing`` (largest
    channel difference and fraction of pixels differing from OpenCV's smoothing).
    """
    import torch
    from skimage import data

    from facedata.features.bilateral import uses_kernel

    image = resize_image(data.astronaut(), size)
    views = [image, image[:, ::-1], image[::-1], image[::-1, ::-1]]
    images = torch.from_numpy(np.stack([views[i % 4] for i in range(batch)])).to(device)

    def run():
        out = color.smooth(images, smoothing=color.SCFEGAN)
        if images.is_cuda:
            torch.cuda.synchronize()
        return out

    smoothed = run()  # compiles the kernel
    diff = np.abs(
        smoothed[0].cpu().numpy().astype(int) - color.smooth(image, smoothing=color.SCFEGAN)
    )
    return {
        "route": "triton" if uses_kernel(images) else "tensor loop",
        "ms_per_image": best_ms(run, repeat) / batch,
        "max_diff": int(diff.max()),
        "differing": float(np.mean(diff.max(-1) > 0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=3, help="demo faces for the colour maps")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (best kept)")
    parser.add_argument("--torch", action="store_true", help="also time the torch routes")
    parser.add_argument(
        "--bilateral-device",
        help="only time SC-FEGAN's smoothing of 8 images on this torch device (e.g. cuda)",
    )
    args = parser.parse_args()
    if args.bilateral_device:
        result = time_bilateral_kernel(args.bilateral_device, repeat=args.repeat)
        print(
            f"SC-FEGAN smoothing at {SIZE}x{SIZE} on {args.bilateral_device} ({result['route']}): "
            f"{result['ms_per_image']:.2f} ms/image; vs OpenCV: max diff {result['max_diff']}, "
            f"{100 * result['differing']:.3f}% of pixels differ"
        )
        return
    hog_speed(args.repeat, args.torch)
    colour(args.faces, args.repeat, args.torch)


if __name__ == "__main__":
    main()
