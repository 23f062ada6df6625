"""Every mask family on one sheet: one row per family, six masks over the demo face.

PYTHONPATH=. python examples/preview_masks.py --out masks_sheet.png
"""

from __future__ import annotations

import argparse

from facedata.preview.grid import save_rgb
from facedata.preview.masks import family_sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="masks_sheet.png", help="image to write")
    parser.add_argument("--n", type=int, default=6, help="masks per family")
    parser.add_argument("--size", type=int, default=512, help="side the masks are drawn at")
    parser.add_argument("--seed", type=int, default=0, help="global seed")
    args = parser.parse_args()
    sheet = family_sheet(n=args.n, size=args.size, seed=args.seed)
    save_rgb(args.out, sheet)
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
