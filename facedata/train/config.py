"""The options of a training run as one frozen dataclass, stored in every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from ..checks import at_least, device_name, one_of
from ..errors import ConfigError
from .losses import LossWeights

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
    lr, beta1, beta2 : float
        Adam settings of both networks (DeepFillv2's, SC-FEGAN published none).
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
        The shards' ``mask.png``, or a new mask per step (see :class:`ShardDataset`).
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
    log_every, sample_every, checkpoint_every : int
        Steps between log rows, sample grids and checkpoints.
    progress : bool
        Show a progress bar (only on a terminal, and only on rank 0 under torchrun).
    save_optimizer : bool
        Keep the Adam state in checkpoints (two thirds of their size); without it a resumed
        run restarts Adam's moment estimates.
    losses : LossWeights
    """

    shards: str
    out: str
    size: int = 256
    batch: int = 8
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
    use_vgg: bool = True
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
