"""Networks on a GPU: throughput, a whole build with every map, CUDA/CPU agreement; one run.

Synthetic weights in the published formats (HED ``network-bsds500.pth`` keys, facexlib's
BiSeNet state dict), given as files: speed does not depend on their values.
Prints, in one run:

1. HED and BiSeNet images/s at SIZE² for batch 1/8/32, fp32 and fp16, through the runner a
   build's network process uses (upload, forward, download of the maps included);
2. a build of N images with every default map, the sketch by HED and the labels by BiSeNet
   (annotations ignored), all CPU workers feeding one network process: samples/s, that
   process's peak GPU memory, and GPU utilisation sampled with ``nvidia-smi``;
3. CUDA against CPU for each network stage: HED edge differences and BiSeNet labels kept, at
   fp32 and at the build's default precision.

Under 5 minutes on one GPU machine; ``--quick`` shrinks everything so it runs on a CPU (the
agreement step then compares the CPU's fp32 with its bf16, and fp16 is left out).

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
sys.path.insert(0, str(HERE.parent / "tests"))  # the published-format weight writer

from hed_weights import bsds_state  # noqa: E402
from trees import celebamask_tree  # noqa: E402

from facedata.pipeline import BuildConfig, build  # noqa: E402
from facedata.pipeline.align import AlignConfig  # noqa: E402
from facedata.pipeline.networks import LocalNetwork, NetworkSpec  # noqa: E402
from facedata.pipeline.parsing import ParsingConfig  # noqa: E402
from facedata.pipeline.sketch import SketchConfig  # noqa: E402
from facedata.sources import SourceConfig  # noqa: E402


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


def images_per_second(net: LocalNetwork, images: np.ndarray, repeats: int) -> float:
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
    specs: dict,
    device: str,
    size: int,
    batches: list[int],
    precisions: list[str],
    n: int,
    repeats: int,
) -> None:
    rng = np.random.default_rng(0)
    print(f"\n1. images/s at {size}² on {device} (best of {repeats}, {n} images per run)")
    print(
        f"   {'network':<8} {'precision':<9} "
        + " ".join(f"{'batch ' + str(b):>10}" for b in batches)
    )
    for name, spec in specs.items():
        for precision in precisions:
            rates = []
            for batch in batches:
                count = max(n, batch)
                images = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
                net = LocalNetwork(spec, device, batch=batch, precision=precision)
                rates.append(images_per_second(net, images, repeats))
                del net
            print(f"   {name:<8} {precision:<9} " + " ".join(f"{r:10.1f}" for r in rates))


def whole_build(
    specs: dict, tmp: Path, n: int, size: int, workers: int, device: str, batch: int
) -> None:
    root = celebamask_tree(tmp / "data", n)
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
    print(
        f"   {report.written} samples in {seconds:.1f} s: {report.written / seconds:.1f} "
        f"samples/s ({len(report.failures)} failures)"
    )
    for dev, stats in report.networks.items():
        peak = ", ".join(f"{d} {b / 2**30:.2f} GiB" for d, b in stats["peak_bytes"].items())
        print(
            f"   network process {dev}: {stats['images']} images in {stats['passes']} passes "
            f"of {stats['batch']} ({stats['padded']} padding), peak memory {peak or 'n/a (CPU)'}"
        )
    print(f"   {util.summary()}")
    busy = {k: v for k, v in report.seconds.items() if k != "total"}
    print(
        "   worker time per sample (ms): "
        + ", ".join(
            f"{k} {1000 * v / max(1, report.written):.1f}"
            for k, v in sorted(busy.items(), key=lambda kv: -kv[1])
        )
    )


def agreement(specs: dict, reference: str, other: str, size: int, n: int) -> None:
    from facedata.features.hed import MIN_SIZE

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, max(size, MIN_SIZE), max(size, MIN_SIZE), 3), np.uint8)
    images = np.ascontiguousarray(np.sort(images, axis=2))  # smooth ramps, not only noise
    print(f"\n3. agreement, {other} against {reference} fp32 ({n} images at {size}²)")
    precisions = ["fp32", "auto"] if other.startswith("cuda") else ["bf16"]
    for name, spec in specs.items():
        ref = LocalNetwork(spec, reference, batch=n, precision="fp32")(images)
        for precision in precisions:
            out = LocalNetwork(spec, other, batch=n, precision=precision)(images)
            if spec.kind == "hed":
                diff = np.abs(out - ref)
                print(
                    f"   {name:<8} {other} {precision:<5} edge |diff| max {diff.max():.2e}, "
                    f"mean {diff.mean():.2e}"
                )
            else:
                print(
                    f"   {name:<8} {other} {precision:<5} labels kept "
                    f"{100 * (out == ref).mean():.3f}%"
                )


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
    if args.quick:  # fp16 on a CPU is emulated and slow; the tests cover its correctness
        throughput(specs, device, size, [1, 2], ["fp32"], 2, 1)
    else:
        throughput(specs, device, size, [1, 8, 32], ["fp32", "fp16"], 64, 3)
    whole_build(specs, tmp, n, size, args.workers, device, 2 if args.quick else 0)
    agreement(specs, "cpu", "cuda" if cuda else "cpu", size, 1 if args.quick else 8)


if __name__ == "__main__":
    main()
