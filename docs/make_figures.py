"""Regenerate the pictures of the documentation (docs/figures/*.png) from the demo data.

    python docs/make_figures.py [--out docs/figures] [--only preview.png ...]

Builds the embedded demo (24 drawn faces and scikit-image's astronaut) at 256² with every map,
then draws each figure from the shards. Everything is deterministic: the build runs with a
private, empty facedata cache (so cached HED or parsing weights cannot change a picture) and
the XDoG sketch, and the same code gives the same bytes. About half a minute on one CPU core.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from facedata.labels import CLASSES, PALETTE, colorize  # noqa: E402
from facedata.preview.config import PreviewConfig  # noqa: E402
from facedata.preview.edits import edits_grid  # noqa: E402
from facedata.preview.grid import label, tile, title_band  # noqa: E402
from facedata.preview.masks import family_sheet  # noqa: E402
from facedata.shards.fields import registered_specs  # noqa: E402
from facedata.shards.reader import iter_samples  # noqa: E402

SIZE = 256  # build side
TILE = 112  # side of a tile in the figures
#: Samples shown: three drawn faces of the train split and the photograph.
SHOWN = ("demo-000000", "demo-000001", "demo-000002", "demo-astronaut")
#: How each field is drawn.
SPECS = registered_specs()
#: Box colours of the components figure (RGB).
BOX_COLOURS = {"l_eye": (255, 64, 64), "r_eye": (64, 160, 255), "nose": (255, 200, 0),
               "mouth": (0, 200, 100)}  # fmt: skip


def build_demo(out: Path) -> None:
    from facedata.pipeline import BuildConfig, build
    from facedata.pipeline.maps import MaskConfig
    from facedata.pipeline.sketch import SketchConfig
    from facedata.sources import SourceConfig

    maps = ("parsing", "face", "hair", "mask", "sketch", "color", "hog", "components", "edits")
    build(
        BuildConfig(out=str(out), size=SIZE, maps=maps, progress=False),
        SourceConfig(name="demo"),
        {"mask": MaskConfig(count=2), "sketch": SketchConfig(method="xdog")},
        overwrite=True,
    )


def grid(rows: list[list[np.ndarray]], titles: list[str] | None = None) -> np.ndarray:
    """Concatenate rows of equal tiles; titles go on a dark band above the first row."""
    body = [np.concatenate(r, axis=1) for r in rows]
    band = [title_band(titles, rows[0][0].shape[1])] if titles else []
    return np.concatenate([*band, *body], axis=0)


def show(field: str, value: np.ndarray, sample: dict, side: int = TILE) -> np.ndarray:
    """A tile of ``value`` drawn as the field's spec says (patches as images or grey)."""
    spec = SPECS[field]
    style = spec.preview or ("image" if spec.kind == "image" else "gray")
    return tile(value, side, style=style, under=sample["jpg"])


def preview(samples: dict) -> np.ndarray:
    """What a build holds: one row per sample, one column per map (as `facedata preview`)."""
    columns = [c for c, spec in SPECS.items() if spec.preview and c in samples[SHOWN[0]]]
    rows = [[show(c, samples[k][c], samples[k]) for c in columns] for k in SHOWN]
    return grid(rows, [c.removesuffix(".png") for c in columns])


def fields_figure(
    samples: dict, fields: tuple[str, ...], titles: list[str], keys=SHOWN, side: int = TILE
) -> np.ndarray:
    rows = [[show(f, samples[k][f], samples[k], side) for f in fields] for k in keys]
    return grid(rows, titles)


def palette() -> np.ndarray:
    """The 19 classes: swatch, id and name, in two columns."""
    row_h, col_w, half = 22, 190, (len(CLASSES) + 1) // 2
    img = np.full((half * row_h + 8, 2 * col_w, 3), 255, np.uint8)
    for i, name in enumerate(CLASSES):
        x, y = (i // half) * col_w + 6, (i % half) * row_h + 4
        cv2.rectangle(img, (x, y), (x + 30, y + row_h - 6), PALETTE[i].tolist(), -1)
        cv2.rectangle(img, (x, y), (x + 30, y + row_h - 6), (0, 0, 0), 1)
        cv2.putText(img, f"{i:2d} {name}", (x + 38, y + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)  # fmt: skip
    return img


def parsing_figure(samples: dict) -> np.ndarray:
    """Annotated labels (drawn face) and the landmark parser (photograph), over the image."""
    rows = []
    for key in ("demo-000000", "demo-astronaut"):
        s = samples[key]
        overlay = cv2.addWeighted(s["jpg"], 0.45, colorize(s["parsing.png"]), 0.55, 0)
        labels = show("parsing.png", s["parsing.png"], s)
        rows.append([show("jpg", s["jpg"], s), label(labels, s["json"]["maps"]["parsing"]),
                     show("jpg", overlay, s)])  # fmt: skip
    return grid(rows)


def components_figure(samples: dict) -> np.ndarray:
    """Per sample: image with the boxes, the image patches, the rest; below, the same for
    the sketch."""
    rows = []
    for key in ("demo-000000", "demo-astronaut"):
        s = samples[key]
        for image, kind in ((s["jpg"], "jpg"), (s["sketch.png"], "sketch.png")):
            boxed = show(kind, image, s, SIZE)
            for part, info in s["json"]["components"].items():
                x0, y0, x1, y1 = info["box"]
                cv2.rectangle(boxed, (x0, y0), (x1 - 1, y1 - 1), BOX_COLOURS[part], 2)
            row = [show("jpg", boxed, s)]
            row += [show(f"{part}.{kind}", s[f"{part}.{kind}"], s) for part in BOX_COLOURS]
            rows.append(row + [show(f"rest.{kind}", s[f"rest.{kind}"], s)])
    return grid(rows, ["boxes", *BOX_COLOURS, "rest"])


def alignment_figure(samples: dict) -> np.ndarray:
    """The photograph with its 68 landmarks and FFHQ quad, and the aligned crop."""
    from skimage import data

    photo = data.astronaut()
    s = samples["demo-astronaut"]
    scale = 2 * TILE / photo.shape[0]
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    quad = np.array(s["json"]["align"]["quad"]) * scale
    cv2.polylines(small, [np.round(quad).astype(np.int32)], True, (255, 220, 0), 2, cv2.LINE_AA)
    cv2.circle(small, tuple(np.round(quad[0]).astype(int)), 4, (255, 0, 0), -1)
    aligned = cv2.resize(s["jpg"], (2 * TILE, 2 * TILE), interpolation=cv2.INTER_AREA)
    k = 2 * TILE / s["jpg"].shape[0]
    for x, y in np.array(s["json"]["landmarks"]) * k:
        cv2.circle(aligned, (round(x), round(y)), 2, (0, 255, 0), -1, cv2.LINE_AA)
    return grid([[small, aligned]], ["photo + FFHQ quad", "aligned + 68 landmarks"])


def aligned_astronaut(side: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's astronaut (NASA, public domain), FFHQ-aligned, and its landmarks."""
    from skimage import data

    from facedata.align import LandmarkDetector, align_ffhq, transform_points

    photo = data.astronaut()
    landmarks = LandmarkDetector()(photo)[0].landmarks
    image, matrix = align_ffhq(photo, landmarks, size=side)
    return image, transform_points(landmarks, matrix)


def offline_parsing_figure() -> np.ndarray:
    """The real photograph through the landmark parser and the segmentation parser."""
    from facedata.features.head_parsing import head_parsing
    from facedata.features.landmark_parsing import landmark_parsing

    image, landmarks = aligned_astronaut()
    drawn = [landmark_parsing(landmarks, image.shape[:2]), head_parsing(image, landmarks)]
    return grid([[image, *(colorize(d) for d in drawn)]], ["photo", "landmarks", "segmentation"])


def xdog_figure() -> np.ndarray:
    """The fixed and the adaptive XDoG on a sharp, a blurred, a screened and an enlarged face."""
    from facedata.features import sketch

    image, _ = aligned_astronaut()
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    screen = 0.75 + 0.25 * np.cos(xs * 2.1) * np.cos(ys * 2.1)
    small = cv2.resize(image, (28, 28), interpolation=cv2.INTER_AREA)
    variants = {
        "sharp": (image, 1.0),
        "blurred": (cv2.GaussianBlur(image, (0, 0), 2.0), 1.0),
        "screened": (np.clip(image * screen[..., None], 0, 255).astype(np.uint8), 1.0),
        "enlarged 9x": (cv2.resize(small, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR), 9.1),
    }
    rows = []
    for name, (photo, enlargement) in variants.items():
        fixed = sketch.clean(sketch.xdog_edges(photo, sigma=1.4 * SIZE / 512))
        adaptive = sketch.finish(sketch.xdog_sketch(photo, enlargement=enlargement))
        rows.append([label(photo, name), *(np.repeat(255 - s[..., None], 3, 2) for s in
                                            (fixed, adaptive))])  # fmt: skip
    return grid(rows, ["", "fixed XDoG", "adaptive XDoG"])


def write(out: Path, name: str, image: np.ndarray, *, colours: int | None = None) -> None:
    """Write one figure as PNG at the highest zlib level (figures are committed, so small
    matters); with ``colours``, quantised to that many palette colours first (median cut, no
    dithering, so the same image gives the same bytes)."""
    if colours is None:
        ok, png = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]),
                               [cv2.IMWRITE_PNG_COMPRESSION, 9])  # fmt: skip
        if not ok:
            raise OSError(f"could not encode {name}")
        (out / name).write_bytes(png.tobytes())
    else:
        from PIL import Image

        quantised = Image.fromarray(image).quantize(
            colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        quantised.save(out / name, optimize=True)
    print(f"wrote {out / name} ({image.shape[1]}x{image.shape[0]}, "
          f"{(out / name).stat().st_size // 1024} KiB)")  # fmt: skip


def figures(samples: dict, shards: Path) -> dict:
    """Figure file → a function drawing it (and its palette size, when quantised)."""
    # Thin lines and small glyphs need the full resolution: two samples at 256².
    large = {"keys": ("demo-000002", "demo-astronaut"), "side": SIZE}
    return {
        # A photo beside flat maps: 256 colours keep it under a third of its lossless size.
        "preview.png": (lambda: preview(samples), 256),
        "palette.png": (palette, None),
        "parsing.png": (lambda: parsing_figure(samples), None),
        "masks.png": (lambda: family_sheet(n=4, size=SIZE, tile_size=TILE), None),
        "sketch.png": (lambda: fields_figure(samples, ("jpg", "sketch.png"), ["jpg", "sketch"],
                                             **large), None),  # fmt: skip
        "color.png": (lambda: fields_figure(samples, ("jpg", "parsing.png", "color.png"),
                                            ["jpg", "parsing", "color"]), None),  # fmt: skip
        "hog.png": (lambda: fields_figure(samples, ("jpg", "hog.png"), ["jpg", "hog"], **large),
                    None),  # fmt: skip
        "components.png": (lambda: components_figure(samples), None),
        "edits.png": (lambda: edits_grid(shards, PreviewConfig(count=4, tile_size=TILE,
                                                               split="train")), None),  # fmt: skip
        "alignment.png": (lambda: alignment_figure(samples), None),
        "offline-parsing.png": (offline_parsing_figure, None),
        "xdog-real.png": (xdog_figure, None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--only", nargs="+", metavar="FIGURE",
                        help="Write only these figures (e.g. preview.png).")  # fmt: skip
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="facedata-figures-") as tmp:
        os.environ["FACEDATA_HOME"] = str(Path(tmp) / "home")
        shards = Path(tmp) / "shards"
        build_demo(shards)
        samples = {s["__key__"]: s for s in iter_samples(shards, "train") if s["__key__"] in SHOWN}
        drawn = figures(samples, shards)
        if unknown := set(args.only or ()) - set(drawn):
            parser.error(f"unknown figure(s) {', '.join(sorted(unknown))}; choose from "
                         f"{', '.join(drawn)}")  # fmt: skip
        for name, (draw, colours) in drawn.items():
            if not args.only or name in args.only:
                write(args.out, name, draw(), colours=colours)


if __name__ == "__main__":
    main()
