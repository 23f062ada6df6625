"""A full label map without a network: landmark parts plus hair, hat, ears, neck and cloth.

The face's inner parts come from :func:`~facedata.features.landmark_parsing.landmark_parsing`.
What landmarks cannot place is segmented from the photo, seeded by them, on a copy about
:data:`WORK_SIDE` pixels wide, in the face's own frame (eye line, face height):

1. **Colour models.** Gaussians in CIELAB (lightness down-weighted, so shading stays skin):
   skin from the cheeks, background from beyond the head and shoulders, cloth from the
   chest, hair from a ring just above the landmark forehead (none when that ring is skin or
   background: a bald head). Every pixel takes its nearest model; within
   :data:`SKIN_DISTANCE` of the cheeks it is skin.
2. **Hats.** When the head top's colour stands far from the hair seen beside the temples
   (:data:`HAT_DISTANCE`), the top gets a model of its own and becomes ``hat``; hair is then
   modelled from the temples only. A hat of the hair's own colour stays hair.
3. **Regions by position.** Outside the landmark face, head pixels above the jaw line are
   hair, hat or skin (the head: an oval around the face, and beside the jaw down to the
   chin, where long hair hangs); skin-coloured head beside the face at eye-to-mouth height is
   an ear; below the jaw it is neck (skin-coloured, near the face's axis) or cloth.
4. **Fringe.** Inside the landmark forehead, pixels not of skin colour that touch the hair
   become hair, so skin does not run up into a fringe (hat-coloured ones touching the hat:
   its brim).

No eyeglasses, earrings or necklace are drawn: colour and position do not tell them apart
from skin or cloth.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..labels import LABEL
from .landmark_parsing import landmark_parsing

#: Classes this parser can produce.
SEGMENTATION_CLASSES: tuple[str, ...] = (
    "background", "skin", "nose", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
    "mouth", "u_lip", "l_lip", "hair", "hat", "neck", "cloth",
)  # fmt: skip

#: Side (pixels) of the copy on which colours and regions are decided.
WORK_SIDE = 256
#: Share of the ring above the forehead that must be neither skin nor background for hair.
HAIR_SHARE = 0.1
#: Weight of CIELAB lightness against the two colour axes in the colour models.
LIGHTNESS_WEIGHT = 0.7
#: Mahalanobis distance to the cheeks' colour below which a pixel is skin-coloured.
SKIN_DISTANCE = 1.5
#: Median Mahalanobis distance between the head top's colour and the hair's at the temples
#: above which the top is a hat. Drawn demo hats: 8.7-18; 104 real faces without a hat: at
#: most 6.1 (a bald scalp against the hair beside it); faces with one hair colour: under 2.
HAT_DISTANCE = 7.5


class _Frame:
    """The face's own coordinates: ``u`` along the eyes, ``v`` up the face, both in face
    heights (nose bridge to chin), origin at the nose bridge (point 27)."""

    def __init__(self, landmarks: np.ndarray):
        lm = landmarks
        eye_l, eye_r = lm[36:42].mean(0), lm[42:48].mean(0)
        across = (eye_r - eye_l) / max(float(np.hypot(*(eye_r - eye_l))), 1e-6)
        self.across = across
        self.up = np.array([across[1], -across[0]])
        self.origin = lm[27]
        self.height = max(float(np.hypot(*(lm[8] - lm[27]))), 1e-6)

    def coords(self, shape: tuple[int, int], scale: float) -> tuple[np.ndarray, np.ndarray]:
        """``(u, v)`` of every pixel centre of a ``shape`` grid ``scale`` times the image."""
        h, w = shape
        xs = (np.arange(w, dtype=np.float32) + 0.5) / scale - 0.5 - self.origin[0]
        ys = (np.arange(h, dtype=np.float32) + 0.5) / scale - 0.5 - self.origin[1]
        u = (xs[None, :] * self.across[0] + ys[:, None] * self.across[1]) / self.height
        v = (xs[None, :] * self.up[0] + ys[:, None] * self.up[1]) / self.height
        return u.astype(np.float32), v.astype(np.float32)

    def to_uv(self, points: np.ndarray) -> np.ndarray:
        d = np.asarray(points, np.float64) - self.origin
        return np.stack([d @ self.across, d @ self.up], axis=-1) / self.height


def _lab(image: np.ndarray) -> np.ndarray:
    """CIELAB in float32 with lightness weighted down (shading should not leave the skin)."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= LIGHTNESS_WEIGHT
    return lab


def _distance(lab: np.ndarray, where: np.ndarray) -> np.ndarray | None:
    """Mahalanobis distance of every pixel to the colour of the pixels ``where`` is true
    (``None`` when there are too few of them)."""
    samples = lab[where]
    if len(samples) < 20:
        return None
    mean = samples.mean(0)
    cov = np.cov(samples, rowvar=False) + np.eye(3, dtype=np.float64) * 4.0
    inv = np.linalg.inv(cov).astype(np.float32)
    d = lab - mean.astype(np.float32)
    return np.sqrt(np.maximum(np.einsum("...i,ij,...j->...", d, inv, d), 0))


def head_parsing(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Draw a CelebAMask-HQ label map with hair, hat, ears, neck and cloth from a photo.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB photo (an aligned face crop works best).
    landmarks : (68, 2) float ndarray
        dlib's 68 landmarks ``(x, y)`` in ``image``'s frame.

    Returns
    -------
    (H, W) uint8 ndarray
        Official ids, from :data:`SEGMENTATION_CLASSES` only.

    Examples
    --------
    >>> from skimage.data import astronaut  # doctest: +SKIP
    >>> labels = head_parsing(image, face.landmarks)  # doctest: +SKIP
    """
    lm = np.asarray(landmarks, np.float64)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
    if lm.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {lm.shape}")
    h, w = image.shape[:2]
    frame = _Frame(lm)
    jaw = frame.to_uv(lm[0:17])
    centre, half = float(jaw[:, 0].mean()), max(float(np.ptp(jaw[:, 0])) / 2, 1e-3)
    chin = float(jaw[:, 1].min())
    brow_v = float(frame.to_uv(lm[17:27])[:, 1].min())
    eye_v = float(frame.to_uv(lm[36:48])[:, 1].mean())
    mouth_v = float(frame.to_uv(lm[48:68])[:, 1].max())

    # Everything is decided on a copy at most WORK_SIDE wide; the parts stay sharp.
    scale = min(1.0, WORK_SIDE / max(h, w))
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    work = cv2.resize(image, shape[::-1], interpolation=cv2.INTER_AREA)
    parts = landmark_parsing(lm * scale + (scale - 1) / 2, shape)
    u, v = frame.coords(shape, scale)
    du = (u - centre) / half
    jaw_line = np.interp(u, jaw[:, 0], jaw[:, 1], left=chin - 0.1, right=chin - 0.1)
    below = v < jaw_line  # beside the face, only what is lower than the chin
    face = parts > 0

    # Colour models: skin from the cheeks, background from beyond the head, cloth from the
    # chest, hair from a ring just above the landmark forehead (unless it is skin: bald).
    lab = _lab(work)
    head = (du / 1.35) ** 2 + ((v - 0.2) / 0.9) ** 2 <= 1.0
    head |= (np.abs(du) < 1.45) & (v > chin - 0.1) & (v < 0.2)  # hair hangs beside the jaw
    far = (du / 2.0) ** 2 + ((v - 0.2) / 1.35) ** 2 > 1.0
    shoulders = (v < chin - 0.15) & (np.abs(du) <= 1.0 + (chin - 0.15 - v) * 2.5)
    models = {
        "skin": (parts == LABEL["skin"]) & (v < eye_v - 0.08) & (v > mouth_v),
        "background": far & ~shoulders & (v > chin - 0.1),
        "cloth": shoulders & (v < chin - 0.35) & (np.abs(du) > 0.5),
    }
    dist = {k: _distance(lab, m) for k, m in models.items()}
    to_skin = dist["skin"] if dist["skin"] is not None else np.zeros(shape, np.float32)
    ring_width = max(1, round(0.12 * frame.height * scale))
    grown = cv2.dilate(face.view(np.uint8), np.ones((ring_width,) * 2, np.uint8)) > 0
    ring = grown & ~face & (v > brow_v + 0.2)
    hairy = ring & (to_skin >= SKIN_DISTANCE)
    if dist["background"] is not None:
        hairy &= dist["background"] >= SKIN_DISTANCE
    dist["hair"] = _distance(lab, hairy) if hairy.sum() > HAIR_SHARE * ring.sum() else None
    if dist["hair"] is not None:
        # A head top of another colour than the hair at the temples is a hat: it gets its
        # own model, and hair is modelled from the temples alone.
        other = head & ~face & (to_skin >= SKIN_DISTANCE)
        if dist["background"] is not None:
            other &= dist["background"] >= SKIN_DISTANCE
        hat = _hat_models(lab, other, np.abs(du), v, brow_v, eye_v)
        if hat is not None:
            dist["hair"], dist["hat"] = hat
    dist["skin"] = np.where(to_skin < SKIN_DISTANCE, 0, to_skin)  # the skin colour range wins
    names = [k for k, d in dist.items() if d is not None]
    nearest = np.asarray(names)[np.argmin(np.stack([dist[k] for k in names]), axis=0)]

    labels = np.zeros(shape, np.uint8)
    above = ~face & ~below & head
    hair = above & (nearest == "hair")
    hair = _attached(_tidy(hair), face) if hair.any() else hair
    if "hat" in dist:  # hat-coloured head above the brows, connected to the head top
        hat = _tidy(above & (nearest == "hat") & (v > brow_v + 0.2))
        labels[_attached(hat, hat & (np.abs(du) < 0.6) & (v > brow_v + 0.55))] = LABEL["hat"]
    skin = above & (nearest == "skin") & _attached(above & (nearest == "skin"), face)
    labels[skin] = LABEL["skin"]
    ear = skin & (v < eye_v + 0.05) & (v > eye_v - 0.55) & (np.abs(du) > 0.85)
    labels[ear & (du < 0)] = LABEL["l_ear"]
    labels[ear & (du > 0)] = LABEL["r_ear"]
    chest = ~face & below & shoulders | (~face & below & (np.abs(du) < 1.0) & (v > chin - 0.5))
    neck = chest & (nearest == "skin") & (np.abs(du) < 1.0)
    cloth = chest & ~neck & (nearest != "background")
    if dist["hair"] is not None:
        hang = chest & (nearest == "hair") & (np.abs(du) > 0.6)  # long hair over the shoulders
        hair |= _attached(hang | hair, hair) & hang
        cloth &= ~hang
    labels[_tidy(cloth)] = LABEL["cloth"]
    labels[_attached(_tidy(neck), face)] = LABEL["neck"]
    labels[hair] = LABEL["hair"]

    # Forehead pixels not of skin colour are a fringe: those touching the hair, or all of them
    # where no hair was found around the face (a background of the hair's colour leaves
    # none). Hat-coloured ones touching the hat are its brim.
    forehead = (parts == LABEL["skin"]) & (v > brow_v) & (nearest != "skin")
    brim = forehead & (nearest == "hat")
    over = np.zeros(shape, np.uint8)
    for name, covered in (("hair", forehead & ~brim), ("hat", brim)):
        region = labels == LABEL[name]
        if region.any():
            covered &= _attached(region | covered, region)
        elif name == "hat":
            continue
        over[covered] = LABEL[name]

    labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    over = cv2.resize(over, (w, h), interpolation=cv2.INTER_NEAREST)
    full = landmark_parsing(lm, (h, w))
    full = np.where((over > 0) & (full == LABEL["skin"]), over, full)
    return np.where(full > 0, full, labels)


def _hat_models(
    lab: np.ndarray, other: np.ndarray, adu: np.ndarray, v: np.ndarray, brow_v: float, eye_v: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Distances to the hair beside the temples and to the head top, when they are two colours.

    ``other`` marks head pixels that are neither skin- nor background-coloured; ``adu`` and
    ``v`` are the face-frame coordinates. Hair is seen beside the temples (between the eyes
    and just above the brows, outside the face); the head top is above the landmark
    forehead near the face's axis. When each is, in median, at least :data:`HAT_DISTANCE`
    from the other's colour model, the top is a hat: returns ``(to_hair, to_hat)``;
    otherwise ``None`` (one hair colour, or too few pixels to tell).
    """
    side = other & (adu > 0.85) & (v > eye_v - 0.2) & (v < brow_v + 0.25)
    top = other & (adu < 0.6) & (v > brow_v + 0.55)
    if side.sum() < 20 or top.sum() < 20:
        return None
    to_side, to_top = _distance(lab, side), _distance(lab, top)
    apart = min(float(np.median(to_side[top])), float(np.median(to_top[side])))
    return (to_side, to_top) if apart >= HAT_DISTANCE else None


def _tidy(mask: np.ndarray) -> np.ndarray:
    """Close small gaps and drop specks (3 x 3 closing, then opening)."""
    kernel = np.ones((3, 3), np.uint8)
    m = cv2.morphologyEx(mask.view(np.uint8), cv2.MORPH_CLOSE, kernel)
    return cv2.morphologyEx(m, cv2.MORPH_OPEN, kernel) > 0


def _attached(mask: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` 8-connected to ``anchor`` (touching it or overlapping it)."""
    grown = cv2.dilate(anchor.view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    _, comp = cv2.connectedComponents((mask | grown).view(np.uint8), connectivity=8)
    return mask & np.isin(comp, np.unique(comp[grown]))
