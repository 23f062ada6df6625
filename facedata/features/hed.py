"""Holistically-nested edge detection (HED) with the two published weight families.

Reference: S. Xie and Z. Tu, "Holistically-Nested Edge Detection", ICCV 2015.

Both families share one network: five VGG16 stages (3x3 convs + ReLU, a 2x2 max-pool opening
stages 2-5), a 1x1 side projection to one channel after each stage, each upsampled bilinearly
to the input size. They differ in preprocessing and in how the five side outputs are combined:

- ``bsds500``: the widely used PyTorch conversion of the BSDS500 model
  (``network-bsds500.pytorch``, keys ``moduleVggOne.0.weight`` or ``netVggOne.0.weight``).
  Input BGR 0-255 minus the fixed Caffe mean; a learned 1x1 conv fuses the side outputs,
  followed by a sigmoid.
- ``controlnet``: ControlNet's Apache-2 re-implementation (``ControlNetHED.pth``, keys
  ``norm``, ``block1.convs.0.weight``, ``block1.projection.weight`` ...). Input RGB 0-255 minus
  a learned ``norm``; the output is the sigmoid of the mean of the side outputs.

Weights come only through :mod:`facedata.weights`; :func:`load` builds the module and
:func:`edges` runs it on any number of images of any sizes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import weights
from ..device import resolve_device
from ..errors import BadImageError, CorruptWeightsError

BSDS500 = weights.REGISTRY["hed-bsds500"]
CONTROLNET = weights.REGISTRY["hed-controlnet"]

#: Output channels and conv count of the five VGG16 stages.
STAGES = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
#: Caffe BGR mean the BSDS500 model was trained with.
BSDS500_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)
#: Four 2x2 pools: smaller images would leave stage 5 with no pixel.
MIN_SIZE = 16

_BSDS_STAGE_NAMES = ("VggOne", "VggTwo", "VggThr", "VggFou", "VggFiv")
_BSDS_SCORE_NAMES = ("ScoreOne", "ScoreTwo", "ScoreThr", "ScoreFou", "ScoreFiv")
FAMILIES = ("bsds500", "controlnet")


def _stage(c_in: int, c_out: int, n_convs: int, *, pool: bool) -> nn.Sequential:
    # Same layer indices as the BSDS500 conversion ([pool,] conv, relu, conv, relu ...), so its
    # keys map onto this module by renaming the stage only.
    layers: list[nn.Module] = [nn.MaxPool2d(2, 2)] if pool else []
    for i in range(n_convs):
        layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


class HED(nn.Module):
    """The HED network of either weight family; build it with :func:`load`.

    Args:
        family: ``"bsds500"`` (BGR input, learned fusion) or ``"controlnet"`` (RGB input,
            mean of the side outputs).

    Shape:
        - Input: ``(N, 3, H, W)`` float RGB in 0-255, ``H, W >= 16``.
        - Output: ``(N, 1, H, W)`` edge probability in [0, 1].
    """

    def __init__(self, family: str):
        super().__init__()
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, not {family!r}")
        self.family = family
        self.bgr = family == "bsds500"
        self.register_buffer("mean", torch.zeros(1, 3, 1, 1))
        widths = [3] + [c for c, _ in STAGES]
        self.stages = nn.ModuleList(
            _stage(widths[i], c, n, pool=i > 0) for i, (c, n) in enumerate(STAGES)
        )
        self.side = nn.ModuleList(nn.Conv2d(c, 1, 1) for c, _ in STAGES)
        self.fuse = nn.Conv2d(len(STAGES), 1, 1) if family == "bsds500" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bgr:
            x = x.flip(1)
        x = x - self.mean
        size = x.shape[-2:]
        sides = []
        for stage, side in zip(self.stages, self.side):
            x = stage(x)
            sides.append(F.interpolate(side(x), size=size, mode="bilinear", align_corners=False))
        scores = torch.cat(sides, 1)
        logit = self.fuse(scores) if self.fuse is not None else scores.mean(1, keepdim=True)
        return torch.sigmoid(logit.float())


def convert_state_dict(state: dict[str, torch.Tensor]) -> tuple[str, dict[str, torch.Tensor]]:
    """Rename a published checkpoint's keys to :class:`HED`'s.

    Parameters
    ----------
    state : dict
        ``network-bsds500.pytorch`` (``module…`` or ``net…`` prefix) or ``ControlNetHED.pth``.

    Returns
    -------
    family : str
        ``"bsds500"`` or ``"controlnet"``.
    state : dict
        The same tensors under :class:`HED`'s keys (plus the fixed mean for BSDS500).

    Raises
    ------
    CorruptWeightsError
        When the keys are neither family's.
    """
    prefix = next((p for p in ("module", "net") if f"{p}VggOne.0.weight" in state), None)
    if prefix is not None:
        out = {"mean": torch.tensor(BSDS500_MEAN_BGR).view(1, 3, 1, 1)}
        for key, value in state.items():
            name, _, rest = key[len(prefix) :].partition(".")
            if name in _BSDS_STAGE_NAMES:
                out[f"stages.{_BSDS_STAGE_NAMES.index(name)}.{rest}"] = value
            elif name in _BSDS_SCORE_NAMES:
                out[f"side.{_BSDS_SCORE_NAMES.index(name)}.{rest}"] = value
            elif name == "Combine":
                out[f"fuse.{rest.removeprefix('0.')}"] = value
            else:
                out[key] = value  # reported as unexpected by load_state_dict
        return "bsds500", out
    if "norm" in state and "block1.convs.0.weight" in state:
        out = {"mean": state["norm"]}
        for key, value in state.items():
            if key == "norm":
                continue
            block, part, rest = key.split(".", 2)
            k = int(block.removeprefix("block")) - 1
            if part == "convs":
                i, param = rest.split(".")
                # Stage 1 has no pool in front, so its convs sit at 0, 2 ...; later ones at 1, 3.
                out[f"stages.{k}.{2 * int(i) + (k > 0)}.{param}"] = value
            else:
                out[f"side.{k}.{rest}"] = value
        return "controlnet", out
    sample = ", ".join(list(state)[:4])
    raise CorruptWeightsError(
        "not a HED checkpoint: expected network-bsds500.pytorch keys (moduleVggOne.0.weight or "
        f"netVggOne.0.weight) or ControlNetHED.pth keys (norm, block1.convs.0.weight); "
        f"found {sample} ..."
    )


def load(
    path_or_name: str | os.PathLike = "hed-bsds500",
    device: str | torch.device = "auto",
    *,
    download: bool = True,
) -> HED:
    """Load HED weights of either family into an inference-ready :class:`HED`.

    Parameters
    ----------
    path_or_name : str or path
        ``"hed-bsds500"``, ``"hed-controlnet"`` (looked up in the weight cache) or a file.
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:i"``.
    download : bool
        Fetch a registered weight that is not cached (needs internet).

    Returns
    -------
    HED
        In eval mode, channels-last, on ``device``; ``model.family`` names the family.

    Raises
    ------
    MissingWeightsError
        When the file is absent (saying what to download and where to put it).
    CorruptWeightsError
        When it is not the published file, unreadable, or not a HED checkpoint of the expected
        shapes.
    """
    family, state = convert_state_dict(weights.load_state_dict(path_or_name, download=download))
    model = HED(family)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # wrong shapes or missing/unexpected tensors
        raise CorruptWeightsError(
            f"{path_or_name} has {family} HED keys but does not fit the network: {exc}"
        ) from exc
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    return model.eval().to(dev, memory_format=torch.channels_last)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Turn a gray, RGB or RGBA uint8 image into ``(H, W, 3)`` RGB uint8.

    RGBA is composited over white, so transparent pixels (whatever colour they store) read as
    empty paper rather than as edges.

    Raises
    ------
    BadImageError
        For another dtype or channel count.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise BadImageError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise BadImageError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got {image.shape}")
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.shape[2] == 4:
        alpha = image[..., 3:].astype(np.float32) / 255.0
        over_white = image[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return np.rint(over_white).astype(np.uint8)
    return image


def _autocast(device: torch.device, amp: bool):
    if device.type != "cuda" or not amp:
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def edges(
    model: HED,
    images: Sequence[np.ndarray] | np.ndarray,
    *,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    amp: bool = True,
) -> list[np.ndarray]:
    """HED edge probabilities of many images.

    Images are grouped by size and run in batches of up to ``batch_size`` under
    ``torch.inference_mode``, channels-last; on CUDA the uploads come from pinned memory and
    the convolutions run under bf16 (fp16 where bf16 is unsupported) autocast.

    Parameters
    ----------
    model : HED
        From :func:`load`.
    images : sequence of ndarray or (N, H, W[, C]) ndarray
        uint8 RGB ``(H, W, 3)``; gray ``(H, W)`` and RGBA ``(H, W, 4)`` are accepted too (see
        :func:`as_rgb`). Sizes may differ; each side must be at least 16 pixels.
    batch_size : int
        Images per forward pass.
    device : str or torch.device, optional
        Where to run; the model is moved there. Default: the model's device.
    amp : bool
        Mixed precision on CUDA (ignored on the CPU, which always runs float32).

    Returns
    -------
    list of ndarray
        One ``(H_i, W_i)`` float32 map in [0, 1] per image, in input order, whatever the
        sizes (``np.stack`` them when they share one).

    Raises
    ------
    BadImageError
        For an image that is not uint8 gray/RGB/RGBA or is smaller than 16x16.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    rgb = [as_rgb(im) for im in images]
    for im in rgb:
        if min(im.shape[:2]) < MIN_SIZE:
            raise BadImageError(
                f"HED needs images of at least {MIN_SIZE}x{MIN_SIZE} pixels, got "
                f"{im.shape[1]}x{im.shape[0]}"
            )
    if device is None:
        dev = next(model.parameters()).device
    else:
        dev = device if isinstance(device, torch.device) else resolve_device(device)
        model = model.to(dev)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, im in enumerate(rgb):
        groups.setdefault(im.shape[:2], []).append(i)
    out: list[np.ndarray | None] = [None] * len(rgb)
    with torch.inference_mode(), _autocast(dev, amp):
        for indices in groups.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                batch = torch.from_numpy(np.stack([rgb[i] for i in chunk]))
                if dev.type == "cuda":
                    batch = batch.pin_memory()
                # NHWC memory viewed as NCHW is already channels-last: no copy.
                x = batch.to(dev, non_blocking=True).permute(0, 3, 1, 2).float()
                probs = model(x)[:, 0].float().cpu().numpy()
                for i, p in zip(chunk, probs):
                    out[i] = p
    return out
