"""VGG16 pool1-pool3 features for SC-FEGAN's perceptual and style losses.

The network is torchvision's own VGG16 definition (``torchvision.models.vgg16``), cut after
pool3; the ImageNet weights are torchvision's ``vgg16-397923af.pth``, of which only the
convolutions up to pool3 (``features.0`` … ``features.14``) are loaded. The file is looked up
in facedata's weight cache, then in torch hub's cache (where torchvision downloads it). A
missing file is an error with instructions, never a randomly initialised VGG.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .. import weights
from ..errors import CorruptWeightsError, MissingWeightsError

VGG16 = weights.REGISTRY["vgg16"]

#: Indices of pool1, pool2, pool3 in torchvision's VGG16 ``features``.
POOLS = (4, 9, 16)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def locate(path: str | os.PathLike | None = None) -> Path:
    """Find the VGG16 weight file: ``path``, facedata's cache, or torch hub's cache.

    Raises
    ------
    MissingWeightsError
        With the file to download, where to put it, and ``--no-vgg`` as the alternative.
    """
    if path is not None:
        return weights.resolve(path, download=False)
    hub = Path(torch.hub.get_dir()) / "checkpoints" / VGG16.filename
    try:
        return weights.resolve(VGG16.name, download=False)
    except MissingWeightsError as exc:
        if hub.is_file():
            return hub
        raise MissingWeightsError(
            f"{exc}\nor copy it to {hub} (torch hub's cache).\n"
            "To train without the perceptual and style losses instead, pass --no-vgg."
        ) from None


class VGGFeatures(nn.Module):
    """VGG16 ``features[:17]`` returning pool1, pool2 and pool3 of an image in [-1, 1].

    The input is mapped to [0, 1] and normalised with the ImageNet mean and std, as the
    weights expect. Parameters are frozen.

    Shape
    -----
    (B, 3, H, W) → [(B, 64, H/2, W/2), (B, 128, H/4, W/4), (B, 256, H/8, W/8)]
    """

    def __init__(self):
        super().__init__()
        from torchvision.models import vgg16

        # Built on the meta device: the classifier (120 M parameters) is dropped unallocated.
        with torch.device("meta"):
            features = vgg16(weights=None).features[: POOLS[-1] + 1]
        self.features = features.to_empty(device="cpu")
        for layer in self.features:
            if isinstance(layer, nn.Conv2d):
                layer.reset_parameters()  # defined values until load_vgg puts ImageNet's in
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((x + 1) / 2 - self.mean) / self.std
        pools = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in POOLS:
                pools.append(x)
        return pools


def load_vgg(path: str | os.PathLike | None = None) -> VGGFeatures:
    """Build :class:`VGGFeatures` with the ImageNet weights (see :func:`locate`).

    The file is checked first (:func:`facedata.weights.verify`): one found in a cache must be
    torchvision's published file; one given as ``path`` is used with a warning when it is not.

    Raises
    ------
    MissingWeightsError
        When the file is missing.
    CorruptWeightsError
        When it is not the published file, or lacks or misshapes a ``features`` tensor up to
        pool3.
    """
    file = locate(path)
    state = weights.load_state_dict(file, download=False, expect=VGG16.name, strict=path is None)
    model = VGGFeatures()
    wanted = {k for k in model.state_dict() if k.startswith("features.")}
    missing = sorted(wanted - set(state))
    if missing:
        raise CorruptWeightsError(
            f"{file} is not torchvision's VGG16 state dict: it lacks {', '.join(missing[:4])}"
        )
    try:
        model.load_state_dict({k: state[k] for k in wanted}, strict=False)
    except RuntimeError as exc:
        raise CorruptWeightsError(f"{file} does not fit VGG16: {exc}") from exc
    return model
