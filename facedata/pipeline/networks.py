"""The build's device jobs behind one call: images in, maps out.

A *device job* is the torch work a stage hands to a device: a network with a weight file (HED
edges, face parsing; :class:`NetworkSpec`) or SC-FEGAN's colour smoothing, which has no weights
(:class:`SmoothingSpec`). A spec names the job; :func:`load_job` makes its runner, a
:class:`LocalJob` that maps a ``(N, H, W, C)`` uint8 batch in fixed-shape passes. A stage
holds a handle from :func:`connect` and calls it on a batch; the job runs either in this
process or in the build's network process for the stage's device
(:mod:`facedata.pipeline.network_process`), which batches the images of every worker; the
stage does not know which.

Passes of a build always have one shape: ``batch`` images, the last chunk padded with blank
images. Convolution kernels choose their algorithm by shape, and results differ in the last
float bits from one batch size to another (about 1e-5 for HED on a CPU); with one shape, an
image's map never depends on which images shared its batch, how many workers sent images, or
which executor ran them. A network's precision is one of ``fp32``, ``bf16`` or ``fp16``
autocast; ``auto`` is bf16 on a GPU that supports it (else fp16) and fp32 on a CPU. The
smoothing always runs in fp32: it reproduces OpenCV's rounding.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError
from ..features.color import Smoothing

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

    def weight_file(self) -> str:
        """The checked weight file (never downloaded here)."""
        from .. import weights

        return str(weights.resolve(self.weights, download=False))

    def settings(self) -> dict:
        """JSON-able fields, read back by :func:`job_spec`."""
        return {"job": "network", **asdict(self)}


@dataclass(frozen=True)
class SmoothingSpec:
    """SC-FEGAN's colour smoothing as a device job (no weights).

    Without small-segment crops (``factor == 1``, SC-FEGAN's schedule, or ``exact_below ==
    0``) the job maps ``(N, H, W, 3)`` RGB images to their smoothed images,
    :func:`facedata.features.color.smooth`. The crops depend on the labels, so with them the
    job takes ``(N, H, W, 4)``, RGB plus the label map, and returns the colour map
    (background filled with its median). Either way the segment medians of the answer,
    :func:`~facedata.features.color.fill_segments`, are the colour map.

    Attributes
    ----------
    smoothing : Smoothing
        The schedule.
    """

    smoothing: Smoothing

    @property
    def with_labels(self) -> bool:
        """Whether requests carry the label map as a fourth channel (the crops need it)."""
        s = self.smoothing
        return s.passes > 0 and s.factor > 1 and s.exact_below > 0

    @property
    def key(self) -> str:
        """A name unique to this schedule."""
        return "smoothing:" + ",".join(f"{k}={v}" for k, v in asdict(self.smoothing).items())

    def weight_file(self) -> None:
        """No weights."""
        return None

    def settings(self) -> dict:
        """JSON-able fields, read back by :func:`job_spec`."""
        return {"job": "smoothing", **asdict(self)}


def job_spec(settings: dict) -> NetworkSpec | SmoothingSpec:
    """The spec of :meth:`NetworkSpec.settings` or :meth:`SmoothingSpec.settings`."""
    fields = dict(settings)
    if fields.pop("job") == "smoothing":
        return SmoothingSpec(Smoothing(**fields["smoothing"]))
    return NetworkSpec(**fields)


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


class LocalJob:
    """A device job run in this process: ``(N, H, W, C)`` uint8 images in, one map each out.

    Parameters
    ----------
    spec : NetworkSpec or SmoothingSpec
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``cuda:i``.
    batch : int or None
        Fixed pass batch (0: the device's default; None: one unpadded pass per call).
    precision : str
        See :class:`NetworkRuntime`.
    """

    def __init__(self, spec, device: str, *, batch: int | None = None, precision: str = "fp32"):
        from ..device import resolve_device

        self.spec = spec
        self.device = resolve_device(device)
        self.batch = None if batch is None else resolve_batch(batch, self.device.type)
        self.dtype = autocast_dtype(precision, self.device)
        #: What the job reports as its method (a network's weight family).
        self.family: str | None = None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """The maps of ``images``, ``(N, ...)``, computed in passes of :attr:`batch`."""
        images = np.ascontiguousarray(images)
        if len(images) == 0:
            return self._empty(images)
        chunks = [images] if self.batch is None else pad_chunks(images, self.batch)
        with _autocast(self.device, self.dtype):
            outs = [self._forward(chunk) for chunk in chunks]
        # one pass (what the network process mostly runs) needs no copy
        out = outs[0] if len(outs) == 1 else np.concatenate(outs)
        return out[: len(images)]

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _empty(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class LocalNetwork(LocalJob):
    """A network loaded in this process; calling it maps ``(N, H, W, 3)`` uint8 RGB images to
    float32 edges (``hed``) or uint8 labels (``parsing``), ``(N, H, W)``.

    Parameters
    ----------
    spec : NetworkSpec
    device, batch, precision
        See :class:`LocalJob`.
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

        super().__init__(spec, device, batch=batch, precision=precision)
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

    def _empty(self, images: np.ndarray) -> np.ndarray:
        return np.zeros(images.shape[:3], np.float32 if self.spec.kind == "hed" else np.uint8)

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        if self.spec.kind == "hed":
            from ..features import hed

            # amp off: the precision is this network's, set by the autocast around the call.
            return np.stack(hed.edges(self.model, chunk, batch_size=len(chunk), amp=False))
        from ..features import parsing

        return parsing.parse(self.model, chunk)


class LocalSmoothing(LocalJob):
    """SC-FEGAN's colour smoothing on a device; see :class:`SmoothingSpec` for what it maps.

    The torch bilateral filter reproduces OpenCV's (docs/color.md), in fp32.
    """

    def __init__(self, spec: SmoothingSpec, device: str, *, batch: int | None = None):
        super().__init__(spec, device, batch=batch, precision="fp32")
        self.family = "smoothing"

    def _empty(self, images: np.ndarray) -> np.ndarray:
        return np.zeros((*images.shape[:3], 3), np.uint8)

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        import torch

        from ..features import color

        batch = torch.from_numpy(chunk).to(self.device)
        if self.spec.with_labels:
            rgb, labels = batch[..., :3].contiguous(), batch[..., 3].contiguous()
            out = color.color_map(rgb, labels, smoothing=self.spec.smoothing)
        else:
            out = color.smooth(batch, smoothing=self.spec.smoothing)
        return out.cpu().numpy()


def load_job(
    spec: NetworkSpec | SmoothingSpec,
    device: str,
    *,
    batch: int | None = None,
    precision: str = "auto",
    source: str | None = None,
) -> LocalJob:
    """The runner of ``spec`` in this process on ``device`` (see :class:`LocalNetwork`; the
    smoothing ignores ``precision`` and has no ``source``)."""
    if isinstance(spec, SmoothingSpec):
        return LocalSmoothing(spec, device, batch=batch)
    return LocalNetwork(spec, device, batch=batch, precision=precision, source=source)


def connect(spec: NetworkSpec | SmoothingSpec, device: str, runtime: NetworkRuntime):
    """A handle on ``spec`` for a stage on ``device``: the device's network process when the
    build runs one, else the job loaded here."""
    address = dict(runtime.processes).get(device)
    if address is not None:
        from .network_process import RemoteNetwork

        return RemoteNetwork(address, spec)
    return load_job(spec, device, batch=runtime.batch, precision=runtime.precision)
