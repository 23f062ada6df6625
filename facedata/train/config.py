"""The options of ``facedata train`` and ``facedata evaluate``, one frozen dataclass each.

A :class:`TrainConfig` is stored in every checkpoint. The module imports no torch: the CLI
generates both commands' options from these fields (``cli/options.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from ..checks import at_least, device_name, one_of
from ..errors import ConfigError
from ..options import option

#: Options a resumed run may change: they decide how it runs, not what it learns.
RESUMABLE = (
    "shards",
    "out",
    "steps",
    "device",
    "workers",
    "progress",
    "log_every",
    "sample_every",
    "checkpoint_every",
    "vgg",
    "save_optimizer",
)


@dataclass(frozen=True)
class LossWeights:
    """SC-FEGAN's loss weights.

    Attributes
    ----------
    hole : float
        α, weight of the per-pixel loss inside the hole (the paper: α > 1).
    perceptual : float
        σ, weight of the perceptual loss.
    adversarial : float
        β, weight of the generator's adversarial loss.
    style : float
        γ, weight of the style loss.
    tv : float
        υ, weight of the total-variation loss.
    gp : float
        θ, weight of the discriminator's gradient penalty.
    drift : float
        ε, weight of the drift term that keeps D(I_gt) near zero.
    """

    hole: float = option(1.5, flag="--hole-weight")
    perceptual: float = option(0.05, flag="--perceptual-weight")
    adversarial: float = option(0.001, flag="--adversarial-weight")
    style: float = option(120.0, flag="--style-weight")
    tv: float = option(0.1, flag="--tv-weight")
    gp: float = option(10.0, flag="--gp-weight")
    drift: float = option(0.001, flag="--drift-weight")


@dataclass(frozen=True)
class TrainConfig:
    """Options of ``facedata train``.

    Attributes
    ----------
    shards : str
        A facedata build (or a folder of shards) with ``jpg``, ``sketch.png``, ``color.png``
        and, for ``masks="stored"``, ``mask.png``.
    out : str
        Run folder: checkpoint, config, logs and sample grids.
    size : int
        Training resolution (power of two); shards are resized on the fly.
    batch : int
        Batch size per process (under torchrun the global batch is ``batch × world size``).
    steps : int
        Total optimisation steps (a resumed run continues up to this number).
    cnum : int
        Channels of the first generator layer (SC-FEGAN: 64); also the discriminator's.
    lr : float
        Adam learning rate of both networks (DeepFillv2's; SC-FEGAN published none).
    beta1, beta2 : float
        Adam's moment decay rates of both networks (DeepFillv2's).
    grad_clip : float
        Maximum global gradient norm of each network per step.
    seed : int
        Seed of the initial weights, the noise input, the data order and fresh masks.
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``cuda:i``.
    amp : bool
        Mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling).
    split : str
        Split of the build to train on.
    masks : {"stored", "fresh"}
        ``stored``: the shards' ``mask.png``; ``fresh``: a new mask per step (see
        :class:`ShardDataset`).
    mask_kind : str
        Mask family for fresh masks.
    shuffle : int
        Shuffle buffer in samples.
    workers : int
        DataLoader worker processes.
    use_vgg : bool
        Perceptual and style losses on VGG16 (needs the ImageNet weights).
    vgg : str or None
        VGG16 weight file; ``None`` looks in facedata's and torch hub's caches.
    log_every : int
        Steps per ``log.csv`` row.
    sample_every : int
        Steps per sample grid.
    checkpoint_every : int
        Steps per checkpoint save.
    progress : bool
        Show a progress bar (only on a terminal, and only on rank 0 under torchrun).
    save_optimizer : bool
        Keep the Adam state in checkpoints (two thirds of their size); without it a resumed
        run restarts Adam's moment estimates.
    losses : LossWeights
        See :class:`LossWeights`.
    """

    shards: str
    out: str
    size: int = 256
    batch: int = option(8, flag="--batch-size", aliases=("--batch",))
    steps: int = 100_000
    cnum: int = 64
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    grad_clip: float = 10.0
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    split: str = "train"
    masks: str = "stored"
    mask_kind: str = "scfegan"
    shuffle: int = 1000
    workers: int = 2
    use_vgg: bool = option(True, flag="--use-vgg/--no-vgg")
    vgg: str | None = None
    log_every: int = 50
    sample_every: int = 1000
    checkpoint_every: int = 1000
    progress: bool = True
    save_optimizer: bool = True
    losses: LossWeights = field(default_factory=LossWeights)

    def __post_init__(self) -> None:
        # Checked before the shards are opened or a network is built (one line, exit 2).
        size = self.size
        if isinstance(size, bool) or not isinstance(size, int) or size < 8 or size & (size - 1):
            raise ConfigError(f"--size must be a power of two of at least 8, not {size!r}")
        for flag, value, low in (
            ("--batch-size", self.batch, 1),
            ("--steps", self.steps, 1),
            ("--cnum", self.cnum, 1),
            ("--shuffle", self.shuffle, 0),
            ("--workers", self.workers, 0),
            ("--log-every", self.log_every, 1),
            ("--sample-every", self.sample_every, 1),
            ("--checkpoint-every", self.checkpoint_every, 1),
        ):
            at_least(flag, value, low)
        one_of("--masks", self.masks, ("stored", "fresh"))
        device_name("--device", self.device)
        if not self.lr > 0:
            raise ConfigError(f"--lr must be positive, not {self.lr!r}")

    def to_dict(self) -> dict:
        """Plain JSON-able values (what checkpoints and ``config.json`` hold)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict`."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        return cls(**{**values, "losses": LossWeights(**data.get("losses", {}))})

    def resumed_with(self, new: TrainConfig) -> TrainConfig:
        """This (stored) config with the :data:`RESUMABLE` options taken from ``new``."""
        return replace(self, **{k: getattr(new, k) for k in RESUMABLE})


@dataclass(frozen=True)
class EvalConfig:
    """Options of ``facedata evaluate``.

    Attributes
    ----------
    checkpoint : str
        A ``checkpoint.pt`` written by ``facedata train``.
    shards : str
        A build (its ``split`` is used) or a folder of shards, e.g. ``shards/test/``.
    masks : str or None
        Folder of PNG masks (255 = hole; e.g. from ``facedata masks --out DIR``), used in
        sorted order, the i-th image with mask ``i mod count``; ``None``: each sample's own
        ``mask.png``.
    out : str or None
        Folder for ``metrics.json`` and ``metrics.md``; default ``evaluation/`` beside the
        checkpoint.
    split : str
        Split to evaluate when ``shards`` is a build.
    batch : int
        Images per batch.
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``cuda:i``.
    seed : int
        Seed of the noise input.
    limit : int or None
        Evaluate only the first N images.
    progress : bool
        Show a progress bar (only on a terminal).
    """

    checkpoint: str
    shards: str
    masks: str | None = None
    out: str | None = None
    split: str = "test"
    batch: int = option(8, flag="--batch-size", aliases=("--batch",))
    device: str = "auto"
    seed: int = 0
    limit: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        at_least("--batch-size", self.batch, 1)
        if self.limit is not None:
            at_least("--limit", self.limit, 1)
        device_name("--device", self.device)
