"""Images per second of batched ``hed.edges`` against a one-image-at-a-time loop.

Both runs use the same network (real weights with ``--weights``, else random ones of the same
shape: speed does not depend on the values) in the same process. CPU always; CUDA too when a GPU
is visible. The default run is short; raise ``--images`` and ``--size`` for steadier figures.

    PYTHONPATH=. python benchmarks/hed.py --images 16 --size 256
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from facedata.features import hed


def network(weights: str | None, family: str, device: torch.device) -> hed.HED:
    if weights:
        return hed.load(weights, device)
    torch.manual_seed(0)
    return hed.HED(family).eval().to(device, memory_format=torch.channels_last)


def images_per_second(run, n: int, repeats: int) -> float:
    run()  # warm-up: allocator, cuDNN autotuning, lazy initialisation
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="Images per run.")
    parser.add_argument("--size", type=int, default=128, help="Image side in pixels.")
    parser.add_argument("--batch-size", type=int, default=8, help="Batch size of the batched run.")
    parser.add_argument("--repeats", type=int, default=2, help="Timed runs; the best is kept.")
    parser.add_argument("--weights", default=None, help="Weight name or file (default: random).")
    parser.add_argument("--family", default="bsds500", choices=hed.FAMILIES)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(
        f"HED {args.family if not args.weights else args.weights}: {args.images} images of "
        f"{args.size}x{args.size}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
    )
    for device in devices:
        model = network(args.weights, args.family, device)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        loop = images_per_second(
            lambda m=model: [hed.edges(m, [im], batch_size=1) for im in images],
            args.images,
            args.repeats,
        )
        batched = images_per_second(
            lambda m=model: hed.edges(m, images, batch_size=args.batch_size),
            args.images,
            args.repeats,
        )
        print(
            f"  {name:<24} one at a time {loop:8.2f} img/s   "
            f"batched (batch {args.batch_size}) {batched:8.2f} img/s   x{batched / loop:.2f}"
        )


if __name__ == "__main__":
    main()
