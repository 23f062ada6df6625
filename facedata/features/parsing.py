"""Face parsing networks (facexlib's BiSeNet and ParseNet) with CelebAMask-HQ label ids.

Both networks are the ones facexlib publishes, trained on CelebAMask-HQ with 19 classes; the
model classes come from facexlib (the optional extra ``facedata[parsing]``), the weights only
from facedata's weight manager, so facexlib never downloads anything into its package folder.

Preprocessing is facexlib's own: the RGB image resized to 512 x 512 with bilinear
interpolation, scaled to [0, 1], normalised (BiSeNet: ImageNet mean and std; ParseNet: 0.5 and
0.5), and the first output's argmax is the label. BiSeNet orders its classes differently from
CelebAMask-HQ; its logits are permuted into the official order, so the argmax is an official
id directly. For an image that is not 512², the logits are resized bilinearly to the image's
size before the argmax.

References
----------
Yu et al., "BiSeNet: Bilateral Segmentation Network for Real-time Semantic Segmentation",
ECCV 2018. Chen et al., "Progressive Semantic-Aware Style Transformation for Blind Face
Restoration" (PSFR-GAN, whose ParseNet this is), CVPR 2021. Lee et al., "MaskGAN: Towards
Diverse and Interactive Facial Image Manipulation" (CelebAMask-HQ), CVPR 2020.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .. import weights
from ..device import resolve_device
from ..errors import ConfigError, CorruptWeightsError, require
from ..labels import CLASSES, LABEL

#: Side of the square input both networks were trained on.
INPUT_SIZE = 512

#: BiSeNet's class order (facexlib ``parsing_bisenet.pth``); index = BiSeNet output channel.
BISENET_CLASSES: tuple[str, ...] = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear",
    "ear_r", "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat",
)  # fmt: skip

#: BiSeNet class index → official CelebAMask-HQ id.
BISENET_TO_OFFICIAL = np.array([LABEL[name] for name in BISENET_CLASSES], dtype=np.uint8)


@dataclass(frozen=True)
class Arch:
    """What differs between the two networks."""

    weights: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    classes: tuple[str, ...]


ARCHS: dict[str, Arch] = {
    "bisenet": Arch("parsing-bisenet", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225),
                    BISENET_CLASSES),
    "parsenet": Arch("parsing-parsenet", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), CLASSES),
}  # fmt: skip


def _arch(arch: str) -> Arch:
    try:
        return ARCHS[arch]
    except KeyError:
        raise ConfigError(
            f"unknown parsing network {arch!r}; choose one of {', '.join(ARCHS)}"
        ) from None


def build_network(arch: str) -> torch.nn.Module:
    """facexlib's untrained network of ``arch`` (``bisenet`` or ``parsenet``), 19 classes."""
    _arch(arch)
    if arch == "bisenet":
        return require("facexlib.parsing.bisenet", "parsing").BiSeNet(num_class=19)
    parsenet = require("facexlib.parsing.parsenet", "parsing")
    return parsenet.ParseNet(in_size=INPUT_SIZE, out_size=INPUT_SIZE, parsing_ch=19)


class FaceParser(torch.nn.Module):
    """A facexlib parsing network with its normalisation, answering in official class order.

    Parameters
    ----------
    net : torch.nn.Module
        facexlib ``BiSeNet`` or ``ParseNet``, weights loaded.
    arch : str
        ``bisenet`` or ``parsenet``.

    Shape
    -----
    - Input: ``(N, 3, 512, 512)`` float RGB in [0, 1].
    - Output: ``(N, 19, 512, 512)`` logits; channel ``k`` is official class ``k``.
    """

    def __init__(self, net: torch.nn.Module, *, arch: str):
        super().__init__()
        spec = _arch(arch)
        self.net = net
        self.arch = arch
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)
        # Official channel k reads the network channel whose class is k.
        order = [spec.classes.index(name) for name in CLASSES]
        self.register_buffer("order", torch.tensor(order), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.net((x - self.mean) / self.std)[0]
        return logits.index_select(1, self.order)


def load(
    name_or_path: str | os.PathLike | None = None,
    *,
    arch: str = "bisenet",
    device: str | torch.device = "auto",
    download: bool = True,
) -> FaceParser:
    """Load a parsing network through the weight manager.

    Parameters
    ----------
    name_or_path : str or path, optional
        A registered weight name (``parsing-bisenet``, ``parsing-parsenet``) or a checkpoint
        file in facexlib's format (a plain state dict); default: the registered weights of
        ``arch``.
    arch : str
        ``bisenet`` or ``parsenet``.
    device : str or torch.device
        ``auto``, ``cpu``, ``cuda`` or ``cuda:i``.
    download : bool
        Fetch registered weights that are not cached yet.

    Returns
    -------
    FaceParser
        In eval mode, on ``device``.

    Raises
    ------
    MissingWeightsError
        When the weights are missing.
    CorruptWeightsError
        When they are not the published file, unreadable, or do not fit ``arch``.
    """
    spec = _arch(arch)
    state = weights.load_state_dict(
        name_or_path or spec.weights, download=download, expect=spec.weights
    )
    net = build_network(arch)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        other = next(a for a in ARCHS if a != arch)
        raise CorruptWeightsError(
            f"{name_or_path or spec.weights} is not a facexlib {arch} checkpoint "
            f"(is it a {other} one? pass arch={other!r}): {str(exc).splitlines()[0]}"
        ) from exc
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    return FaceParser(net, arch=arch).eval().to(dev)


def parse(
    model: FaceParser,
    images: np.ndarray,
    *,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Label maps of a batch of face images.

    Parameters
    ----------
    model : FaceParser
        From :func:`load`.
    images : (N, H, W, 3) uint8 ndarray
        RGB faces, aligned and cropped like CelebA-HQ/FFHQ (the networks' training data).
    device : str or torch.device, optional
        Move the model there first; default: where the model is.

    Returns
    -------
    (N, H, W) uint8 ndarray
        Official CelebAMask-HQ ids 0-18.

    Examples
    --------
    >>> model = load("parsing-bisenet", device="cpu")  # doctest: +SKIP
    >>> parse(model, faces).shape  # doctest: +SKIP
    (16, 512, 512)
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[3] != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"expected (N, H, W, 3) uint8 RGB images, got {images.dtype} {images.shape}"
        )
    if device is not None:
        model.to(device if isinstance(device, torch.device) else resolve_device(device))
    dev = model.mean.device
    n, h, w = images.shape[:3]
    native = (h, w) == (INPUT_SIZE, INPUT_SIZE)
    batch = images if native else np.stack([
        cv2.resize(im, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR) for im in images
    ])  # fmt: skip
    x = torch.from_numpy(np.ascontiguousarray(batch)).to(dev).permute(0, 3, 1, 2)
    labels = np.empty((n, h, w), np.uint8)
    with torch.inference_mode():
        logits = model(x.float() / 255.0)
        for i in range(n):  # one at a time: 19 channels at full size are large
            li = logits[i : i + 1]
            if not native:
                li = F.interpolate(li, size=(h, w), mode="bilinear", align_corners=False)
            labels[i] = li.argmax(1)[0].to(torch.uint8).cpu().numpy()
    return labels
