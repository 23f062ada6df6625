"""The build's networks (HED, face parsing) behind one call: images in, maps out.

A stage holds a network handle from :func:`connect` and calls it on a batch of images. The
network runs either in this process or in the build's network process for the stage's device
(:mod:`facedata.pipeline.network_process`), which batches the images of every worker; the
stage does not know which.

Forward passes of a build always have one shape: ``batch`` images, the last chunk padded with
blank images. Convolution kernels choose their algorithm by shape, and results differ in the
last float bits from one batch size to another (about 1e-5 for HED on a CPU); with one shape,
an image's map never depends on which images shared its batch, how many workers sent images,
or which executor ran them. Precision is one of ``fp32``, ``bf16`` or ``fp16`` autocast;
``auto`` is bf16 on a GPU that supports it (else fp16) and fp32 on a CPU.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
KINDS = ("hed", "parsing")

#: Network batch of ``--network-batch 0`` (auto), by device type.
AUTO_BATCH = {"cuda": 32, "cpu": 8}


@dataclass(frozen=True)
class NetworkSpec:
    """A network a stage runs.

    Attributes
    ----------
    kind : str
        ``hed`` (edge probabilities, float32 ``(N, H, W)``) or ``parsing`` (official label ids,
        uint8 ``(N, H, W)``).
    weights : str
        Weight name in the manager (``hed-bsds500``, ``parsing-bisenet`` ...) or a file.
    arch : str
        Parsing architecture, ``bisenet`` or ``parsenet``; empty for HED.
    """

    kind: str
    weights: str
    arch: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"network kind must be one of {', '.join(KINDS)}, not {self.kind!r}")

    @property
    def key(self) -> str:
        """A name unique to this network and its weights."""
        return f"{self.kind}:{self.arch}:{self.weights}"


@dataclass(frozen=True)
class NetworkRuntime:
    """How a build runs its networks; part of every stage's context.

    Attributes
    ----------
    batch : int or None
        Images per forward pass, the last chunk padded; 0 picks the device's default
        (:data:`AUTO_BATCH`); None runs each call's images as one pass without padding (a stage
        used on its own, outside a build).
    precision : str
        ``auto``, ``fp32``, ``bf16`` or ``fp16``.
    processes : tuple of (device, address)
        The network process serving each device; a device not listed runs its networks in the
        calling process.
    """

    batch: int | None = None
    precision: str = "auto"
    processes: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"--precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}"
            )
        if self.batch is not None and self.batch < 0:
            raise ConfigError(f"--network-batch must be 0 (auto) or more, got {self.batch}")


def resolve_batch(batch: int, device_type: str) -> int:
    """The network batch: ``batch``, or for 0 the default of the device type."""
    return batch or AUTO_BATCH.get(device_type, AUTO_BATCH["cpu"])


def autocast_dtype(precision: str, device):
    """The autocast dtype of ``precision`` on a ``torch.device``, or None for fp32.

    Raises
    ------
    ConfigError
        For fp16 on a CPU whose torch build cannot autocast to it.
    """
    import torch

    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    if dtype is not None and not torch.amp.is_autocast_available(device.type):
        raise ConfigError(f"--precision {precision} is not available on {device}; use fp32")
    return dtype


def _autocast(device, dtype):
    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def pad_chunks(images: np.ndarray, batch: int) -> list[np.ndarray]:
    """Cut ``(N, ...)`` images into chunks of exactly ``batch``, the last padded with zeros.

    Examples
    --------
    >>> [c.shape[0] for c in pad_chunks(np.ones((5, 2, 2, 3), np.uint8), 2)]
    [2, 2, 2]
    """
    chunks = []
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        if len(chunk) < batch:
            pad = np.zeros((batch - len(chunk), *chunk.shape[1:]), chunk.dtype)
            chunk = np.concatenate([chunk, pad])
        chunks.append(chunk)
    return chunks


class LocalNetwork:
    """A network loaded in this process; calling it maps ``(N, H, W, 3)`` uint8 RGB images.

    Parameters
    ----------
    spec : NetworkSpec
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``cuda:i``.
    batch : int or None
        Fixed forward batch (0: the device's default; None: one unpadded pass per call).
    precision : str
        See :class:`NetworkRuntime`.
    source : str, optional
        The weight file to read, already resolved and checked (by the build, for its network
        processes); default: ``spec.weights`` through the weight manager.

    Raises
    ------
    MissingWeightsError
        When the weights are not cached (builds never download inside a worker).
    """

    def __init__(
        self,
        spec: NetworkSpec,
        device: str,
        *,
        batch: int | None = None,
        precision: str = "auto",
        source: str | None = None,
    ):
        import torch

        from ..device import resolve_device

        self.spec = spec
        self.device = resolve_device(device)
        self.batch = None if batch is None else resolve_batch(batch, self.device.type)
        self.dtype = autocast_dtype(precision, self.device)
        if spec.kind == "hed":
            from ..features import hed

            self.model = hed.load(source or spec.weights, self.device, download=False)
            self.family = self.model.family
        else:
            from ..features import parsing

            model = parsing.load(
                source or spec.weights, arch=spec.arch, device=self.device, download=False
            )
            # Images arrive NHWC, which viewed as NCHW is channels-last: no layout copies.
            self.model = model.to(memory_format=torch.channels_last)
            self.family = spec.arch

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Maps of ``images``: float32 edges (``hed``) or uint8 labels (``parsing``), (N, H, W)."""
        images = np.ascontiguousarray(images)
        if len(images) == 0:
            return np.zeros(images.shape[:3], np.float32 if self.spec.kind == "hed" else np.uint8)
        chunks = [images] if self.batch is None else pad_chunks(images, self.batch)
        with _autocast(self.device, self.dtype):
            out = np.concatenate([self._forward(chunk) for chunk in chunks])
        return out[: len(images)]

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        if self.spec.kind == "hed":
            from ..features import hed

            # amp off: the precision is this network's, set by the autocast around the call.
            return np.stack(hed.edges(self.model, chunk, batch_size=len(chunk), amp=False))
        from ..features import parsing

        return parsing.parse(self.model, chunk)


def connect(spec: NetworkSpec, device: str, runtime: NetworkRuntime):
    """A handle on ``spec`` for a stage on ``device``: the device's network process when the
    build runs one, else the network loaded here."""
    address = dict(runtime.processes).get(device)
    if address is not None:
        from .network_process import RemoteNetwork

        return RemoteNetwork(address, spec)
    return LocalNetwork(spec, device, batch=runtime.batch, precision=runtime.precision)
