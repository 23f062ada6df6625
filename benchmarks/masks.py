"""Masks per second of every family at 256 and 512, against a pure Python/PIL reference.

Each reference draws the same family the straightforward way: Python's ``random`` for the
draws, ``PIL.ImageDraw`` lines with a circle at every vertex for round strokes, PIL's
``point``/``getbbox``/``MaxFilter`` on the label map. Both run in the same process on the same
demo face; the mean coverage of both is printed to show they draw the same family.

    PYTHONPATH=. python benchmarks/masks.py [--seconds 1.0] [--sizes 256,512]
"""

from __future__ import annotations

import argparse
import math
import random
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from facedata.labels import LABEL
from facedata.masks import FAMILIES, LAMA_PRESETS, MaskContext, coverage, make_mask
from facedata.sources.demo import demo_face

# --- pure Python / PIL references -----------------------------------------------------------


def _stroke(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: int) -> None:
    """A polyline with round joints and caps: PIL line plus a disc at every vertex."""
    draw.line(points, fill=1, width=width)
    r = width / 2
    for x, y in points:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=1)


def _class_image(labels: Image.Image, names: tuple[str, ...]) -> Image.Image:
    ids = {LABEL[n] for n in names}
    return labels.point(lambda v: 255 if v in ids else 0)


def ref_scfegan(h: int, w: int, rnd: random.Random, labels: Image.Image) -> Image.Image:
    scale = min(h, w) / 512
    width = max(1, round(15 * scale))
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    face = labels.point(lambda v: 255 if 0 < v < LABEL["hair"] else 0).getbbox() or (0, 0, w, h)
    eyes = []
    for name in ("l_eye", "r_eye"):
        box = _class_image(labels, (name,)).getbbox()
        if box:
            eyes.append(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    for _ in range(1 + rnd.randrange(3)):
        x, y = rnd.uniform(face[0], face[2]), rnd.uniform(face[1], face[3])
        start = rnd.uniform(0, 360)
        points = [(x, y)]
        for i in range(rnd.randint(80, 100)):
            a = math.radians(start + rnd.uniform(-15, 15) + (180 if i % 2 else 0))
            length = rnd.uniform(80, 100) * scale
            x = min(max(x + length * math.cos(a), 0), w - 1)
            y = min(max(y + length * math.sin(a), 0), h - 1)
            points.append((x, y))
        _stroke(draw, points, width)
        if eyes:
            _stroke(draw, [points[-1], rnd.choice(eyes)], width)
    if rnd.random() < 1 / 3:
        mask.paste(1, mask=_class_image(labels, ("hair",)))
    return mask


def ref_deepfill(h: int, w: int, rnd: random.Random, labels: Image.Image) -> Image.Image:
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    radius = math.hypot(h, w) / 8
    scale = min(h, w) / 256
    for _ in range(rnd.randint(1, 3)):
        n = rnd.randint(4, 12)
        lo = 2 * math.pi / 5 - rnd.uniform(0, 2 * math.pi / 15)
        hi = 2 * math.pi / 5 + rnd.uniform(0, 2 * math.pi / 15)
        points = [(rnd.randrange(w), rnd.randrange(h))]
        for i in range(n):
            a = rnd.uniform(lo, hi)
            a = 2 * math.pi - a if i % 2 == 0 else a
            r = min(max(rnd.gauss(radius, radius / 2), 0), 2 * radius)
            x, y = points[-1]
            points.append((min(max(x + r * math.cos(a), 0), w - 1),
                           min(max(y + r * math.sin(a), 0), h - 1)))  # fmt: skip
        _stroke(draw, points, round(rnd.uniform(12, 40) * scale))
    if rnd.random() < 0.5:
        mask = mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rnd.random() < 0.5:
        mask = mask.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    bh, bw = h // 2, w // 2
    top, left = rnd.randint(0, h - bh), rnd.randint(0, w - bw)
    d = [rnd.randint(0, h // 16) for _ in range(4)]
    ImageDraw.Draw(mask).rectangle(
        (left + d[0], top + d[1], left + bw - d[2] - 1, top + bh - d[3] - 1), fill=1
    )
    return mask


def _ref_lama(preset: str):
    config = LAMA_PRESETS[preset]

    def draw_one(h: int, w: int, rnd: random.Random, labels: Image.Image) -> Image.Image:
        side = min(h, w)
        i = 0 if side < math.sqrt(256 * 512) else 1
        s = side / config.sizes[i]
        mask = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(mask)
        if config.box_weight and rnd.random() < config.box_weight / (1 + config.box_weight):
            m = round(config.box_margin[i] * s)
            for _ in range(rnd.randint(config.min_boxes[i], config.max_boxes[i])):
                bw = rnd.randint(round(config.min_box[i] * s), round(config.max_box[i] * s))
                bh = rnd.randint(round(config.min_box[i] * s), round(config.max_box[i] * s))
                x, y = rnd.randint(m, max(m, w - m - bw)), rnd.randint(m, max(m, h - m - bh))
                draw.rectangle((x, y, x + bw - 1, y + bh - 1), fill=1)
            return mask
        for k in range(rnd.randint(config.min_strokes[i], config.max_strokes[i])):
            x, y = rnd.randrange(w), rnd.randrange(h)
            for _ in range(1 + rnd.randrange(config.max_segments)):
                a = 0.01 + rnd.randrange(config.max_angle)
                a = 2 * math.pi - a if k % 2 == 0 else a
                length = 10 + rnd.randrange(round(config.max_length[i] * s))
                width = 5 + rnd.randrange(round(config.max_width[i] * s))
                nx = min(max(x + length * math.sin(a), 0), w)
                ny = min(max(y + length * math.cos(a), 0), h)
                _stroke(draw, [(x, y), (nx, ny)], width)
                x, y = nx, ny
        return mask

    return draw_one


def ref_box(h: int, w: int, rnd: random.Random, labels: Image.Image) -> Image.Image:
    side = min(h, w)
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(rnd.randint(1, 3)):
        bh, bw = (rnd.randint(round(0.1 * side), round(0.4 * side)) for _ in range(2))
        x, y = rnd.randint(0, w - bw), rnd.randint(0, h - bh)
        draw.rectangle((x, y, x + bw - 1, y + bh - 1), fill=1)
    return mask


def ref_gfc(h: int, w: int, rnd: random.Random, labels: Image.Image) -> Image.Image:
    side = round(0.5 * min(h, w))
    x, y = rnd.randint(0, w - side), rnd.randint(0, h - side)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rectangle((x, y, x + side - 1, y + side - 1), fill=1)
    return mask


REF_PARTS = {
    "eye": (("l_eye",), ("r_eye",)),
    "eyes": (("l_eye", "r_eye"),),
    "nose": (("nose",),),
    "mouth": (("mouth", "u_lip", "l_lip"),),
    "hair": (("hair",),),
}


def ref_part(h: int, w: int, rnd: random.Random, labels: Image.Image) -> Image.Image:
    found = {}
    for part, candidates in REF_PARTS.items():
        regions = [r for r in (_class_image(labels, c) for c in candidates) if r.getbbox()]
        if regions:
            found[part] = regions
    region = rnd.choice(found[rnd.choice(list(found))])
    grow = round(rnd.uniform(0.01, 0.04) * min(h, w))
    x0, y0, x1, y1 = region.getbbox()
    mask = Image.new("L", (w, h), 0)
    if rnd.random() < 0.5:  # blob: dilate the part's neighbourhood only
        box = (max(0, x0 - grow), max(0, y0 - grow), min(w, x1 + grow), min(h, y1 + grow))
        grown = region.crop(box).filter(ImageFilter.MaxFilter(2 * grow + 1))
        mask.paste(grown.point(lambda v: 1 if v else 0), box[:2])
    else:
        box = (max(0, x0 - grow), max(0, y0 - grow), x1 + grow - 1, y1 + grow - 1)
        ImageDraw.Draw(mask).rectangle(box, fill=1)
    return mask


REFERENCES = {
    "scfegan": ref_scfegan,
    "deepfill": ref_deepfill,
    "lama-thin": _ref_lama("thin"),
    "lama-medium": _ref_lama("medium"),
    "lama-thick": _ref_lama("thick"),
    "box": ref_box,
    "gfc": ref_gfc,
    "part": ref_part,
}


def ref_mixed(h: int, w: int, rnd: random.Random, labels: Image.Image) -> Image.Image:
    return rnd.choice(list(REFERENCES.values()))(h, w, rnd, labels)


REFERENCES["mixed"] = ref_mixed

# --- measurement ----------------------------------------------------------------------------


def rate(draw, seconds: float) -> tuple[float, float]:
    """Masks per second and mean coverage of ``draw(i) -> (H, W) array`` over ``seconds``."""
    covs = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(covs) < 5:
        covs.append(coverage(draw(len(covs))))
    return len(covs) / (time.perf_counter() - start), float(np.mean(covs))


def compare(kind: str, size: int, labels: np.ndarray, seconds: float) -> str:
    """One table row: facedata against the reference for one family and size."""
    reference = REFERENCES[kind]
    # Each mask gets a fresh context and label image, as each sample of a build does.
    ours, ours_cov = rate(
        lambda i: make_mask(kind, size, size, np.random.default_rng(i), MaskContext(labels=labels))[
            0
        ],
        seconds,
    )
    ref, ref_cov = rate(
        lambda i: np.asarray(reference(size, size, random.Random(i), Image.fromarray(labels))),
        seconds,
    )
    return (
        f"| {kind} | {size} | {ours:,.0f} | {ref:,.0f} | {ours / ref:.1f}x | "
        f"{ours_cov:.3f} / {ref_cov:.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--sizes", default="256,512", help="comma-separated mask sides")
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    args = parser.parse_args()
    print("| family | size | facedata masks/s | PIL reference masks/s | ratio | mean coverage |")
    print("|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        _, labels = demo_face(size=size)
        for kind in args.families.split(","):
            print(compare(kind, size, labels, args.seconds))


if __name__ == "__main__":
    main()
