"""Component boxes and patches for component-based face editing (DeepFaceDrawing/-Editing).

DeepFaceDrawing and DeepFaceEditing split a 512² face into four component patches (left eye,
right eye, nose, mouth) and the rest of the face, each with its own encoder. DeepFaceEditing's
public code crops fixed windows from aligned faces: 128² for each eye, 160² for the nose and
192² for the mouth. Here each window keeps that size but is centred on the sample's
own component, so patches of every sample align on the component and share one shape.

References
----------
Chen et al., "DeepFaceDrawing: Deep Generation of Face Images from Sketches", SIGGRAPH 2020.
Chen et al., "DeepFaceEditing: Deep Face Generation and Editing with Disentangled Geometry
and Appearance Control", SIGGRAPH 2021.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..labels import LABEL
from ..options import option

#: Component names, in the order fields and metadata list them.
COMPONENTS: tuple[str, ...] = ("l_eye", "r_eye", "nose", "mouth")

#: Label ids whose pixels make up each component.
COMPONENT_CLASSES: dict[str, tuple[int, ...]] = {
    "l_eye": (LABEL["l_eye"],),
    "r_eye": (LABEL["r_eye"],),
    "nose": (LABEL["nose"],),
    "mouth": (LABEL["mouth"], LABEL["u_lip"], LABEL["l_lip"]),
}

#: dlib 68-point indices of each component. ``l_eye`` is the eye on the image's left
#: (points 36-41), as in facedata's demo faces, whose ``l_eye`` part lies on the image's left.
LANDMARK_POINTS: dict[str, tuple[int, ...]] = {
    "l_eye": tuple(range(36, 42)),
    "r_eye": tuple(range(42, 48)),
    "nose": tuple(range(27, 36)),
    "mouth": tuple(range(48, 68)),
}

#: Centres ``(x, y)`` at 512² of DeepFaceEditing's fixed windows on aligned faces; used for a
#: component that neither the landmarks nor the label map locate.
DEFAULT_CENTRES: dict[str, tuple[float, float]] = {
    "l_eye": (172.0, 220.0),
    "r_eye": (319.0, 220.0),
    "nose": (262.0, 312.0),
    "mouth": (265.0, 397.0),
}


@dataclass(frozen=True)
class ComponentSizes:
    """Square patch sides at 512², scaled with the image side.

    Attributes
    ----------
    eye : int
        Side of each eye patch (DeepFaceDrawing/-Editing: 128).
    nose : int
        Side of the nose patch (160).
    mouth : int
        Side of the mouth patch (192).
    """

    eye: int = option(128, group="--component-sizes")
    nose: int = option(160, group="--component-sizes")
    mouth: int = option(192, group="--component-sizes")

    def __post_init__(self) -> None:
        for name in ("eye", "nose", "mouth"):
            if not 1 <= getattr(self, name) <= 512:
                raise ConfigError(
                    f"{name} patch side must lie in 1-512 (pixels at 512²), "
                    f"got {getattr(self, name)}"
                )

    def side(self, component: str, image_side: int) -> int:
        """Patch side of ``component`` in an image of side ``image_side``."""
        at_512 = self.eye if component in ("l_eye", "r_eye") else getattr(self, component)
        return max(1, round(at_512 * image_side / 512))


def component_centres(
    shape: tuple[int, int],
    *,
    labels: np.ndarray | None = None,
    landmarks: np.ndarray | None = None,
) -> dict[str, tuple[tuple[float, float], str]]:
    """Locate each component: from landmarks, else the label map, else the default layout.

    Parameters
    ----------
    shape : (int, int)
        ``(H, W)`` of the image frame.
    labels : (H, W) uint8 ndarray, optional
        Label map with official CelebAMask-HQ ids; a component's centre is the centre of its
        classes' bounding box (the middle of what the patch must contain).
    landmarks : (68, 2) float ndarray, optional
        dlib landmarks ``(x, y)``; a component's centre is the mean of its points.

    Returns
    -------
    dict
        Component name → ``((x, y), how)`` with ``how`` one of ``"landmarks"``, ``"labels"``
        or ``"default"`` (:data:`DEFAULT_CENTRES` scaled to the frame).
    """
    h, w = shape
    centres = {}
    for name in COMPONENTS:
        if landmarks is not None:
            x, y = np.asarray(landmarks, np.float64)[list(LANDMARK_POINTS[name])].mean(0)
            centres[name] = ((float(x), float(y)), "landmarks")
            continue
        if labels is not None:
            ys, xs = np.nonzero(np.isin(labels, COMPONENT_CLASSES[name]))
            if xs.size:
                x, y = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
                centres[name] = ((float(x), float(y)), "labels")
                continue
        x, y = DEFAULT_CENTRES[name]
        centres[name] = ((x * w / 512, y * h / 512), "default")
    return centres


def square_box(
    centre: tuple[float, float], side: int, shape: tuple[int, int]
) -> tuple[int, int, int, int]:
    """A ``side`` x ``side`` box centred on ``centre``, shifted to lie inside the frame.

    Parameters
    ----------
    centre : (float, float)
        ``(x, y)`` in pixels.
    side : int
        Box side in pixels.
    shape : (int, int)
        ``(H, W)`` of the frame.

    Returns
    -------
    (x0, y0, x1, y1) : tuple of int
        Half-open pixel box: rows ``y0:y1``, columns ``x0:x1``.

    Raises
    ------
    ValueError
        When ``side`` exceeds the frame.

    Examples
    --------
    >>> square_box((10.0, 50.0), 32, (100, 100))
    (0, 34, 32, 66)
    """
    h, w = shape
    if side > min(h, w):
        raise ValueError(f"a {side}-pixel box does not fit a {w}x{h} frame; use smaller sizes")
    x0 = min(max(round(centre[0] - side / 2), 0), w - side)
    y0 = min(max(round(centre[1] - side / 2), 0), h - side)
    return int(x0), int(y0), int(x0 + side), int(y0 + side)


def component_boxes(
    shape: tuple[int, int],
    *,
    labels: np.ndarray | None = None,
    landmarks: np.ndarray | None = None,
    sizes: ComponentSizes = ComponentSizes(),
) -> dict[str, dict]:
    """One fixed-size box per component, centred on it and kept inside the frame.

    Parameters
    ----------
    shape : (int, int)
        ``(H, W)`` of the (square) image; patch sides scale with ``H / 512``.
    labels, landmarks
        As for :func:`component_centres`.
    sizes : ComponentSizes
        Patch sides at 512².

    Returns
    -------
    dict
        Component name → ``{"box": [x0, y0, x1, y1], "from": how}`` (JSON-ready).

    Examples
    --------
    >>> labels = np.zeros((512, 512), np.uint8); labels[300:320, 200:260] = 2
    >>> component_boxes((512, 512), labels=labels)["nose"]
    {'box': [150, 230, 310, 390], 'from': 'labels'}
    """
    centres = component_centres(shape, labels=labels, landmarks=landmarks)
    return {
        name: {"box": list(square_box(c, sizes.side(name, shape[0]), shape)), "from": how}
        for name, (c, how) in centres.items()
    }


def crop(image: np.ndarray, box: list[int] | tuple[int, ...]) -> np.ndarray:
    """The ``(y1 - y0, x1 - x0[, C])`` patch of ``image`` under ``box = (x0, y0, x1, y1)``."""
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def blank_boxes(image: np.ndarray, boxes: list) -> np.ndarray:
    """Fill the boxes with the image's median value, for the "rest of the face" branch.

    The median is the field's background whatever its convention (white paper under dark
    strokes, a dark canvas under white edges, skin on a photo), so the blanks carry no
    component shape and read as empty.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
    boxes : list of (x0, y0, x1, y1)

    Returns
    -------
    ndarray
        A copy of ``image`` with the boxes filled (per channel).
    """
    out = image.copy()
    fill = np.median(image.reshape(-1, *image.shape[2:]), axis=0).astype(image.dtype)
    for x0, y0, x1, y1 in boxes:
        out[y0:y1, x0:x1] = fill
    return out
