"""The embedded ``demo`` source: procedurally drawn faces in the CelebAMask-HQ layout.

The faces are drawn as overlapping part shapes, saved as per-part PNGs exactly as CelebAMask-HQ
ships them, and read back through the real :class:`CelebAMaskHQ` reader, so a demo build
exercises the same code as a real one. Beside them, real photographs that ship inside
scikit-image (``photos/``, no annotations, not aligned) take the other route: detection,
landmarks, FFHQ alignment and a computed label map. Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..io.atomic import atomic_path
from ..labels import CLASSES, LABEL
from ..sample import Sample, SampleRef
from ..weights import home
from .base import SourceConfig, safe_key
from .celebamask_hq import ANNOTATIONS, ATTRIBUTES, IMAGES, MAPPING, POSE, CelebAMaskHQ, merge_parts

#: Bump when the drawing changes, so cached trees are rebuilt.
DEMO_VERSION = 2
DEMO_COUNT = 24
MASK_SIZE = 512
IMAGE_SIZE = 1024

#: Photographs from ``skimage.data`` (public domain) added to the cached demo tree.
PHOTOS = ("astronaut",)
PHOTO_DIR = "photos"

ATTRIBUTE_NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes "
    "No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling "
    "Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
).split()

HAIR_COLOURS = {"Black_Hair": (30, 25, 22), "Blond_Hair": (215, 180, 110),
                "Brown_Hair": (110, 70, 40), "Gray_Hair": (160, 160, 165)}  # fmt: skip


def _ellipse(shape, centre, axes, angle=0.0) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    c = (int(round(centre[0])), int(round(centre[1])))
    a = (max(1, int(round(axes[0]))), max(1, int(round(axes[1]))))
    cv2.ellipse(m, c, a, angle, 0, 360, 1, -1, cv2.LINE_8)
    return m


def draw_parts(rng: np.random.Generator, size: int = MASK_SIZE) -> tuple[dict, dict]:
    """Draw one face as overlapping CelebAMask-HQ part masks.

    Returns
    -------
    parts : dict
        Part name → (size, size) uint8 mask (0/255); absent parts are missing.
    traits : dict
        What was drawn (for attributes and colours).
    """
    s = size / 512.0
    shape = (size, size)
    cx, cy = 256 * s + rng.uniform(-18, 18) * s, 270 * s + rng.uniform(-15, 15) * s
    a, b = rng.uniform(112, 140) * s, rng.uniform(150, 178) * s
    tilt = rng.uniform(-8, 8)
    t = np.deg2rad(tilt)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])

    def at(dx: float, dy: float) -> tuple[float, float]:
        x, y = rot @ np.array([dx, dy])
        return cx + x, cy + y

    traits = {
        "glasses": rng.random() < 0.3, "hat": rng.random() < 0.15, "bald": rng.random() < 0.08,
        "bangs": rng.random() < 0.35, "earrings": rng.random() < 0.2,
        "necklace": rng.random() < 0.15, "mouth_open": rng.random() < 0.4,
        "long_hair": rng.random() < 0.5, "male": rng.random() < 0.5,
    }  # fmt: skip
    parts: dict[str, np.ndarray] = {}
    face = _ellipse(shape, (cx, cy), (a, b), tilt)
    parts["skin"] = face
    neck = np.zeros(shape, np.uint8)
    x0, x1 = int(cx - 0.42 * a), int(cx + 0.42 * a)
    neck[int(cy + 0.55 * b) :, x0:x1] = 1
    neck &= 1 - face  # the chin stays skin: neck comes later in the overwrite order
    parts["neck"] = neck
    parts["cloth"] = _ellipse(shape, (cx, size + 25 * s), (2.0 * a, 0.75 * b))
    for side, name in ((-1, "l_ear"), (1, "r_ear")):
        parts[name] = _ellipse(shape, at(side * 0.97 * a, 0.02 * b), (0.17 * a, 0.28 * b), tilt)
    eye_dx, eye_dy = 0.38 * a, -0.1 * b
    eye_axes = (0.19 * a, rng.uniform(0.055, 0.085) * b)
    for side, name in ((-1, "l_eye"), (1, "r_eye")):
        parts[name] = _ellipse(shape, at(side * eye_dx, eye_dy), eye_axes, tilt)
    brow_axes = (0.24 * a, rng.uniform(0.025, 0.045) * b)
    for side, name in ((-1, "l_brow"), (1, "r_brow")):
        parts[name] = _ellipse(shape, at(side * eye_dx, eye_dy - 0.14 * b), brow_axes, tilt)
    if traits["glasses"]:
        glasses = np.zeros(shape, np.uint8)
        for side in (-1, 1):
            c = at(side * eye_dx, eye_dy)
            cv2.ellipse(glasses, (int(c[0]), int(c[1])), (int(0.3 * a), int(0.17 * b)),
                        tilt, 0, 360, 1, max(2, int(7 * s)))  # fmt: skip
        p, q = at(-eye_dx + 0.3 * a, eye_dy), at(eye_dx - 0.3 * a, eye_dy)
        cv2.line(glasses, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 1, max(2, int(6 * s)))
        parts["eye_g"] = glasses
    nose = np.zeros(shape, np.uint8)
    tri = np.array([at(0, -0.05 * b), at(-0.13 * a, 0.22 * b), at(0.13 * a, 0.22 * b)])
    cv2.fillPoly(nose, [np.round(tri).astype(np.int32)], 1)
    parts["nose"] = nose
    mouth_c, lips = at(0, 0.48 * b), (0.3 * a, rng.uniform(0.07, 0.1) * b)
    parts["mouth"] = _ellipse(shape, mouth_c, lips, tilt)
    gap = (0.35 if traits["mouth_open"] else 0.08) * lips[1]
    upper = _ellipse(shape, at(0, 0.48 * b - gap), (lips[0], lips[1] * 0.6), tilt)
    lower = _ellipse(shape, at(0, 0.48 * b + gap), (lips[0] * 0.9, lips[1] * 0.7), tilt)
    parts["u_lip"], parts["l_lip"] = upper, lower
    if not traits["bald"]:
        head = _ellipse(shape, at(0, -0.28 * b), (1.22 * a, 1.02 * b), tilt)
        if traits["long_hair"]:
            head |= _ellipse(shape, at(0, 0.55 * b), (1.3 * a, 0.95 * b), tilt) & (1 - neck)
        hair = head & (1 - face)
        if traits["bangs"]:
            hair |= _ellipse(shape, at(0.1 * a, -0.78 * b), (0.95 * a, 0.35 * b), tilt - 10)
        parts["hair"] = hair
    if traits["hat"]:
        hat = _ellipse(shape, at(0, -0.95 * b), (1.3 * a, 0.45 * b), tilt)
        hat[int(cy - 0.78 * b) :, :] = 0
        parts["hat"] = hat
    if traits["earrings"]:
        ring = np.zeros(shape, np.uint8)
        for side in (-1, 1):
            c = at(side * 0.98 * a, 0.3 * b)
            cv2.circle(ring, (int(c[0]), int(c[1])), max(2, int(9 * s)), 1, -1)
        parts["ear_r"] = ring
    if traits["necklace"]:
        lace = np.zeros(shape, np.uint8)
        cv2.ellipse(lace, (int(cx), int(cy + 0.9 * b)), (int(0.4 * a), int(0.25 * b)),
                    0, 10, 170, 1, max(2, int(5 * s)))  # fmt: skip
        parts["neck_l"] = lace
    return {k: v * 255 for k, v in parts.items() if v.any()}, traits


def render(labels: np.ndarray, rng: np.random.Generator, traits: dict, size: int) -> np.ndarray:
    """Paint an RGB face from a label map, with soft shading and sensor noise."""
    lab = cv2.resize(labels, (size, size), interpolation=cv2.INTER_NEAREST)
    skin = np.array(rng.choice([(236, 200, 170), (200, 150, 115), (140, 95, 65), (250, 220, 200)]))
    skin = np.clip(skin + rng.integers(-12, 12, 3), 0, 255)
    hair = np.array(traits["hair_rgb"])
    colours = np.zeros((len(CLASSES), 3), np.float32)
    colours[0] = rng.integers(60, 230, 3)
    colours[LABEL["skin"]] = skin
    colours[LABEL["nose"]] = skin * 0.9
    colours[LABEL["eye_g"]] = (25, 25, 30)
    colours[LABEL["l_eye"]] = colours[LABEL["r_eye"]] = (70, 55, 45)
    colours[LABEL["l_brow"]] = colours[LABEL["r_brow"]] = hair * 0.7
    colours[LABEL["l_ear"]] = colours[LABEL["r_ear"]] = skin * 0.93
    colours[LABEL["mouth"]] = (90, 30, 35)
    colours[LABEL["u_lip"]] = colours[LABEL["l_lip"]] = (185, 80, 85)
    colours[LABEL["hair"]] = hair
    colours[LABEL["hat"]] = rng.integers(20, 240, 3)
    colours[LABEL["ear_r"]] = colours[LABEL["neck_l"]] = (230, 200, 90)
    colours[LABEL["neck"]] = skin * 0.85
    colours[LABEL["cloth"]] = rng.integers(20, 240, 3)
    img = colours[lab]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    light = 1.05 - 0.35 * ((xx - 0.4) ** 2 + (yy - 0.35) ** 2)
    img = cv2.GaussianBlur(img * light[..., None], (0, 0), size / 512.0 * 1.5)
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def draw_face(
    rng: np.random.Generator, image_size: int = IMAGE_SIZE
) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Draw one demo face: its parts, traits, 512² label map and RGB image.

    Returns
    -------
    parts, traits : dict
        As :func:`draw_parts` (traits gain the hair colour).
    labels : (512, 512) uint8 ndarray
        Official label ids.
    image : (image_size, image_size, 3) uint8 ndarray
        RGB.
    """
    parts, traits = draw_parts(rng)
    traits["hair_name"] = str(rng.choice(sorted(HAIR_COLOURS)))
    traits["hair_rgb"] = HAIR_COLOURS[traits["hair_name"]]
    labels = merge_parts(parts, (MASK_SIZE, MASK_SIZE))
    return parts, traits, labels, render(labels, rng, traits, image_size)


def demo_face(
    index: int = 0, *, seed: int = 0, size: int = MASK_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Face ``index`` of the demo tree drawn with ``seed``, in memory, at ``size`` x ``size``.

    Returns
    -------
    image : (size, size, 3) uint8 ndarray
        RGB, rendered directly at ``size`` (not through the tree's JPEG).
    labels : (size, size) uint8 ndarray
        The face's label map, resized with nearest neighbour as a build does.
    """
    _, _, labels, image = draw_face(np.random.default_rng([seed, index]), size)
    labels = cv2.resize(labels, (size, size), interpolation=cv2.INTER_NEAREST)
    return image, labels


def _attributes(traits: dict) -> list[int]:
    on = {
        "Eyeglasses": traits["glasses"], "Wearing_Hat": traits["hat"], "Bald": traits["bald"],
        "Bangs": traits["bangs"], "Wearing_Earrings": traits["earrings"],
        "Wearing_Necklace": traits["necklace"], "Mouth_Slightly_Open": traits["mouth_open"],
        "Smiling": traits["mouth_open"], "Male": traits["male"], "No_Beard": True,
        "Young": True, traits["hair_name"]: not traits["bald"],
    }  # fmt: skip
    return [1 if on.get(name, False) else -1 for name in ATTRIBUTE_NAMES]


def write_demo_tree(out: str | os.PathLike, *, count: int = DEMO_COUNT, seed: int = 0) -> Path:
    """Write ``count`` procedurally drawn faces in the CelebAMask-HQ layout under ``out``.

    The tree has ``CelebA-HQ-img/{id}.jpg`` (1024²), per-part PNGs (512²) in
    ``CelebAMask-HQ-mask-anno/{id // 2000}/``, the mapping, attribute and pose tables, and a
    CelebA-style ``list_eval_partition.txt`` for the made-up CelebA file names.
    The same ``seed`` always gives the same files.
    """
    out = Path(out)
    (out / IMAGES).mkdir(parents=True, exist_ok=True)
    mapping = ["idx orig_idx orig_file"]
    attrs = [str(count), " ".join(ATTRIBUTE_NAMES)]
    pose = [str(count), "Yaw Pitch Raw"]
    partition = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        parts, traits, labels, image = draw_face(rng)
        cv2.imwrite(str(out / IMAGES / f"{i}.jpg"), image[..., ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 95])  # fmt: skip
        folder = out / ANNOTATIONS / str(i // 2000)
        folder.mkdir(parents=True, exist_ok=True)
        for name, mask in parts.items():
            cv2.imwrite(str(folder / f"{i:05d}_{name}.png"), mask)
        orig_idx = 1000 + 7 * i
        orig_file = f"{orig_idx + 1:06d}.jpg"
        mapping.append(f"{i} {orig_idx} {orig_file}")
        attrs.append(f"{i}.jpg " + " ".join(str(v) for v in _attributes(traits)))
        pose.append(f"{i}.jpg " + " ".join(f"{v:.2f}" for v in rng.uniform(-15, 15, 3)))
        partition.append(f"{orig_file} {0 if i % 8 < 6 else (1 if i % 8 == 6 else 2)}")
    (out / MAPPING).write_text("\n".join(mapping) + "\n")
    (out / ATTRIBUTES).write_text("\n".join(attrs) + "\n")
    (out / POSE).write_text("\n".join(pose) + "\n")
    (out / "list_eval_partition.txt").write_text("\n".join(partition) + "\n")
    return out


def write_photos(root: str | os.PathLike) -> None:
    """Add :data:`PHOTOS` as ``photos/<name>.png`` to a demo tree, in the train split.

    The partition file gains a line per photo (its name stands in for a CelebA file name),
    as CelebA's own partition lists far more files than CelebA-HQ has.
    """
    from skimage import data

    root = Path(root)
    (root / PHOTO_DIR).mkdir(parents=True, exist_ok=True)
    with open(root / "list_eval_partition.txt", "a") as partition:
        for name in PHOTOS:
            rgb = getattr(data, name)()
            cv2.imwrite(str(root / PHOTO_DIR / f"{name}.png"), rgb[..., ::-1])
            partition.write(f"{name}.png 0\n")


def demo_root() -> Path:
    """The cached demo tree, written on first use (atomically, so a crash leaves none)."""
    root = home() / f"demo-v{DEMO_VERSION}"
    if not (root / MAPPING).is_file():
        with atomic_path(root) as tmp:
            write_demo_tree(tmp)
            write_photos(tmp)
    return root


class Demo(CelebAMaskHQ):
    """The embedded default source: drawn faces read through the CelebAMask-HQ reader."""

    name = "demo"
    meta_schema = {
        "properties": {
            "credit": {
                "description": "Where a bundled demo photograph comes from.",
                "type": "string",
            }
        }
    }
    key_prefix = "demo"
    obtain = "nothing to obtain: facedata draws it (see `facedata demo-data`)"

    def __init__(self, config: SourceConfig):
        root = config.root or str(demo_root())
        super().__init__(SourceConfig(**{**config.__dict__, "root": root}))

    def refs(self) -> list[SampleRef]:
        photos = self.root / PHOTO_DIR
        return super().refs() + [
            SampleRef(
                key=f"{self.key_prefix}-{safe_key(path.stem)}",
                path=str(path),
                orig_file=path.name,
                meta={
                    "file": f"{PHOTO_DIR}/{path.name}",
                    "aligned": False,
                    "credit": "scikit-image data (public domain)",
                },
            )
            for path in (sorted(photos.glob("*.png")) if photos.is_dir() else [])
        ]

    def load(self, ref: SampleRef) -> Sample:
        if "celeba_hq_id" in ref.meta:
            return super().load(ref)
        image, meta = self.read_image(ref)
        return Sample(key=ref.key, image=image, meta=meta)
