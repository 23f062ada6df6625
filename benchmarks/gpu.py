"""Device jobs on a GPU: throughput, a whole build with every map, CUDA/CPU agreement; one run.

Synthetic weights in the published formats (HED ``network-bsds500.pth`` keys, facexlib's
BiSeNet state dict), given as files: speed does not depend on their values.
Prints, in one run:

1. HED and BiSeNet images/s at SIZE² for batch 1/8/32, fp32 and fp16, and the colour
   smoothing (SC-FEGAN's full schedule, fp32) for batch 1/8/32, through the runners a build's
   network process uses (upload, compute, download of the maps included), with each one's
   peak GPU memory;
2. a build of N images with every default map, the sketch by HED, the labels by BiSeNet
   (annotations ignored) and the colour map by the default route (``auto``: on a GPU, the
   full schedule in the network process), all CPU workers feeding one network process:
   samples/s, that process's peak GPU memory, GPU utilisation sampled with ``nvidia-smi``,
   and the workers' time per sample by stage;
3. CUDA against CPU for each network stage (HED edge differences and BiSeNet labels kept, at
   fp32 and at the build's default precision), and the colour maps of the device's full
   schedule against OpenCV's (``color_map(..., smoothing=SCFEGAN)``) on drawn faces: the
   largest per-segment colour difference over segments of at least 0.5% of the image.

Then a summary, one line per measurement (``| section | measurement | value |``), to paste
into docs/performance.md.

Under 5 minutes on one GPU machine with the fused bilateral kernel (without it the colour
smoothing is a tensor-op loop, projected at about 0.1 s per 512² image, and the build takes
minutes longer); ``--quick`` shrinks everything so it runs on a CPU (the agreement step then
compares the CPU's fp32 with its bf16, and fp16 is left out).

    PYTHONPATH=. python benchmarks/gpu.py            # GPU machine, defaults
    PYTHONPATH=. python benchmarks/gpu.py --quick    # anywhere
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # weight writer, colour error measure

from color_reference import LARGE, segment_errors  # noqa: E402
from hed_weights import bsds_state  # noqa: E402
from trees import celebamask_tree  # noqa: E402

from facedata.features.color import SCFEGAN, color_map, fill_segments  # noqa: E402
from facedata.pipeline import BuildConfig, build  # noqa: E402
from facedata.pipeline.align import AlignConfig  # noqa: E402
from facedata.pipeline.maps import resize_image, resize_labels  # noqa: E402
from facedata.pipeline.networks import LocalJob, NetworkSpec, SmoothingSpec, load_job  # noqa: E402
from facedata.pipeline.parsing import ParsingConfig  # noqa: E402
from facedata.pipeline.sketch import SketchConfig  # noqa: E402
from facedata.shards.reader import load_manifest  # noqa: E402
from facedata.sources import SourceConfig, get_source  # noqa: E402


class Summary:
    """One line per measurement, printed together at the end."""

    def __init__(self):
        self.lines: list[str] = []

    def add(self, section: str, measurement: str, value: str) -> None:
        value = value.replace("|", "\\|")  # a markdown table row
        self.lines.append(f"| {section} | {measurement} | {value} |")

    def print(self) -> None:
        print("\nsummary, one line per measurement:")
        print("| section | measurement | value |\n|---|---|---|")
        print("\n".join(self.lines))


def synthetic_weights(folder: Path) -> dict[str, NetworkSpec]:
    """Random HED and BiSeNet weights in the published formats; their specs by name.

    Used as files: the catalogue accepts only the published files under its names.
    """
    from facexlib.parsing.bisenet import BiSeNet

    torch.save(bsds_state(), folder / "network-bsds500.pth")
    torch.manual_seed(0)
    torch.save(BiSeNet(num_class=19).state_dict(), folder / "parsing_bisenet.pth")
    return {
        "HED": NetworkSpec("hed", str(folder / "network-bsds500.pth")),
        "BiSeNet": NetworkSpec("parsing", str(folder / "parsing_bisenet.pth"), "bisenet"),
    }


def images_per_second(net: LocalJob, images: np.ndarray, repeats: int) -> float:
    net(images[: net.batch])  # warm-up: allocator, kernels, lazy initialisation
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        net(images)  # returns host arrays: the device has finished
        best = min(best, time.perf_counter() - t0)
    return len(images) / best


class Utilisation:
    """GPU utilisation and memory sampled with nvidia-smi every ``every`` seconds."""

    def __init__(self, every: float = 0.5):
        self.every, self.samples, self._stop = every, [], threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        query = [
            "nvidia-smi",
            "--query-gpu=utilization.gpu,memory.used",
            "--format=csv,noheader,nounits",
            "-i",
            "0",
        ]
        while not self._stop.wait(self.every):
            try:
                line = subprocess.run(query, capture_output=True, text=True, timeout=5).stdout
                self.samples.append([float(v) for v in line.split(",")[:2]])
            except (OSError, ValueError, subprocess.SubprocessError):
                return  # no nvidia-smi: nothing to report

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        if not self.samples:
            return "GPU utilisation: not measured (no nvidia-smi)"
        util = np.array(self.samples)
        return (
            f"GPU utilisation: mean {util[:, 0].mean():.0f}%, max {util[:, 0].max():.0f}% "
            f"({len(util)} samples); device memory used, max {util[:, 1].max():.0f} MiB"
        )


def throughput(
    jobs: dict,
    device: str,
    size: int,
    batches: list[int],
    repeats: int,
    summary: Summary,
) -> None:
    """``jobs``: name → (spec, precisions, images per run)."""
    rng = np.random.default_rng(0)
    cuda = device.startswith("cuda")
    print(f"\n1. images/s at {size}² on {device} (best of {repeats})")
    print(
        f"   {'job':<8} {'precision':<9} " + " ".join(f"{'batch ' + str(b):>10}" for b in batches)
    )
    for name, (spec, precisions, n) in jobs.items():
        for precision in precisions:
            rates = []
            for batch in batches:
                count = max(n, batch)
                images = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                job = load_job(spec, device, batch=batch, precision=precision)
                rates.append(images_per_second(job, images, repeats))
                what = f"{name} {precision}, batch {batch}, {size}² on {device}"
                value = f"{rates[-1]:.1f} images/s ({1000 / rates[-1]:.2f} ms per image)"
                if cuda:
                    value += f", peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
                summary.add("throughput", what, value)
                del job
            print(f"   {name:<8} {precision:<9} " + " ".join(f"{r:10.1f}" for r in rates))


def whole_build(
    specs: dict,
    root: Path,
    tmp: Path,
    n: int,
    size: int,
    workers: int,
    device: str,
    batch: int,
    summary: Summary,
) -> None:
    stages = {
        "align": AlignConfig(landmarks=False),
        "sketch": SketchConfig(method="hed", weights=specs["HED"].weights),
        "parsing": ParsingConfig(parser="bisenet", weights=specs["BiSeNet"].weights),
    }
    config = BuildConfig(
        out=str(tmp / "shards"),
        size=size,
        workers=workers,
        device=device,
        shard_size=max(1, n // (4 * workers)),
        network_batch=batch,
        progress=False,
    )
    print(
        f"\n2. build: {n} images at {size}², every default map, HED + BiSeNet on {device}, "
        f"{workers} CPU workers"
    )
    with Utilisation() as util:
        t0 = time.perf_counter()
        report = build(config, SourceConfig("celebamask-hq", root=str(root)), stages)
        seconds = time.perf_counter() - t0
    color = load_manifest(config.out)["stages"]["color"]
    route = f"{color['route']}-x{color['smoothing']['factor']}"
    rate = f"{report.written / seconds:.1f} samples/s"
    print(
        f"   {report.written} samples in {seconds:.1f} s: {rate} ({len(report.failures)} "
        f"failures); colour route {route}"
    )
    what = f"{n} images at {size}², {workers} workers, colour {route}"
    summary.add("build", what, f"{rate}, {seconds:.1f} s")
    for dev, stats in report.networks.items():
        peak = ", ".join(f"{d} {b / 2**30:.2f} GiB" for d, b in stats["peak_bytes"].items())
        print(
            f"   network process {dev}: {stats['images']} images in {stats['passes']} passes "
            f"of {stats['batch']} ({stats['padded']} padding), peak memory {peak or 'n/a (CPU)'}"
        )
        summary.add("build", f"network process {dev}, peak GPU memory", peak or "n/a (CPU)")
    print(f"   {util.summary()}")
    summary.add("build", "GPU utilisation and device memory", util.summary())
    busy = {k: v for k, v in report.seconds.items() if k != "total"}
    per_sample = ", ".join(
        f"{k} {1000 * v / max(1, report.written):.1f}"
        for k, v in sorted(busy.items(), key=lambda kv: -kv[1])
    )
    print(f"   worker time per sample (ms): {per_sample}")
    summary.add("build", "worker time per sample (ms, summed over workers)", per_sample)


def agreement(specs: dict, reference: str, other: str, size: int, n: int, summary: Summary) -> None:
    from facedata.features.hed import MIN_SIZE

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, max(size, MIN_SIZE), max(size, MIN_SIZE), 3), np.uint8)
    images = np.ascontiguousarray(np.sort(images, axis=2))  # smooth ramps, not only noise
    print(f"\n3. agreement, {other} against {reference} fp32 ({n} images at {size}²)")
    precisions = ["fp32", "auto"] if other.startswith("cuda") else ["bf16"]
    for name, spec in specs.items():
        ref = load_job(spec, reference, batch=n, precision="fp32")(images)
        for precision in precisions:
            out = load_job(spec, other, batch=n, precision=precision)(images)
            if spec.kind == "hed":
                diff = np.abs(out - ref)
                value = f"edge |diff| max {diff.max():.2e}, mean {diff.mean():.2e}"
            else:
                value = f"labels kept {100 * (out == ref).mean():.3f}%"
            print(f"   {name:<8} {other} {precision:<5} {value}")
            summary.add("agreement", f"{name} {other} {precision} vs {reference} fp32", value)


def color_agreement(tree: Path, device: str, size: int, n: int, summary: Summary) -> None:
    """The full schedule's colour maps on ``device`` (the build's path: smoothing as a device
    job, medians on the CPU) against OpenCV's, per segment."""
    source = get_source(SourceConfig("celebamask-hq", root=str(tree)))
    loaded = [source.load(ref) for ref in source.refs()[:n]]
    images = np.stack([resize_image(s.image, size) for s in loaded])
    labels = np.stack([resize_labels(s.parsing, size) for s in loaded])
    smoothed = load_job(SmoothingSpec(SCFEGAN), device, batch=n)(images)
    worst, count = 0, 0
    for image, smooth_image, label_map in zip(images, smoothed, labels):
        ours = fill_segments(smooth_image, label_map)
        opencv = color_map(image, label_map, smoothing=SCFEGAN)
        diffs, areas = segment_errors(ours, opencv, label_map)
        large = diffs[areas >= LARGE]
        worst, count = max(worst, int(large.max(initial=0))), count + len(large)
    value = f"max {worst} levels over {count} segments >= 0.5% ({n} drawn faces, {size}²)"
    print(f"   colour   {device} fp32  vs OpenCV full schedule: {value}")
    summary.add("agreement", f"colour map, {device} full schedule vs OpenCV", value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A reduced run that fits a CPU.")
    parser.add_argument("--size", type=int, default=None, help="Image side (512; quick: 64).")
    parser.add_argument("--n", type=int, default=None, help="Build images (2000; quick: 4).")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    size = args.size or (64 if args.quick else 512)
    n = args.n or (4 if args.quick else 2000)
    tmp = Path(tempfile.mkdtemp(prefix="facedata-gpu-bench-"))
    os.environ["FACEDATA_HOME"] = str(tmp / "home")  # synthetic weights only, never the user's
    specs = synthetic_weights(Path(tempfile.mkdtemp(dir=tmp)))
    name = torch.cuda.get_device_name(0) if cuda else "no GPU"
    print(
        f"torch {torch.__version__}, {name}, {os.cpu_count()} CPU cores, "
        f"{torch.get_num_threads()} torch threads"
    )
    summary = Summary()
    colour = SmoothingSpec(SCFEGAN)
    if args.quick:  # fp16 on a CPU is emulated and slow; the tests cover its correctness
        jobs = {k: (spec, ["fp32"], 2) for k, spec in specs.items()}
        throughput(jobs | {"colour": (colour, ["fp32"], 2)}, device, size, [1, 2], 1, summary)
    else:
        jobs = {k: (spec, ["fp32", "fp16"], 64) for k, spec in specs.items()}
        # 8 images per run: the tensor-op loop without the fused kernel is slow at batch 1
        jobs["colour"] = (colour, ["fp32"], 8)
        throughput(jobs, device, size, [1, 8, 32], 2, summary)
    root = celebamask_tree(tmp / "data", n)
    whole_build(specs, root, tmp, n, size, args.workers, device, 2 if args.quick else 0, summary)
    other = "cuda" if cuda else "cpu"
    agreement(specs, "cpu", other, size, 1 if args.quick else 8, summary)
    color_agreement(root, other, size, min(n, 2 if args.quick else 4), summary)
    summary.print()


if __name__ == "__main__":
    main()
