"""The options of a build as one frozen dataclass, printed into the manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..checks import at_least, between, device_name, one_of
from ..errors import ConfigError

#: Maps computed when ``--maps`` is not given.
DEFAULT_MAPS: tuple[str, ...] = ("parsing", "face", "hair", "mask", "sketch", "color", "hog")

#: Options that change how a build runs but not a byte of its output. ``device`` joins them
#: when no stage of the build runs on a device.
EXECUTION_FIELDS = (
    "out", "workers", "backend", "scheduler", "worker_wait", "batch_size", "progress",
    "max_failure_rate",
)  # fmt: skip


@dataclass(frozen=True)
class BuildConfig:
    """Options of ``facedata build``.

    Attributes
    ----------
    out : str
        Output folder.
    size : int
        Output side in pixels (images are square).
    maps : tuple of str
        Maps to compute (see ``facedata build --help`` for the list).
    seed : int
        Global seed; a sample's random draws depend on (seed, key) only.
    split : str
        ``auto``, ``celeba``, ``scfegan`` or ``none``.
    shard_size : int
        Samples per shard.
    limit : int or None
        Use only the first ``limit`` samples of the source.
    batch_size : int
        Samples loaded and processed together inside a shard task.
    workers : int
        Parallel shard tasks; 0 (the default) runs one per CPU core, at most one per shard
        to build. One worker on the local backend runs in this process.
    backend : str
        joblib backend: ``loky``, ``dask`` or ``ray``.
    scheduler : str or None
        Dask scheduler or Ray cluster address; a local cluster when ``None``.
    worker_wait : float
        Seconds a cluster build waits when no worker is left for its remaining shards, before
        it fails saying how to go on (finished shards are kept).
    device : str
        Torch device for network stages: ``auto``, ``cpu``, ``cuda`` or ``cuda:i``.
    precision : str
        Network arithmetic: ``auto`` (bf16 autocast on a GPU that has it, else fp16; fp32 on
        a CPU), ``fp32``, ``bf16`` or ``fp16``.
    network_batch : int
        Images per network forward pass, merged across workers; 0 picks 32 on a GPU, 8 on a
        CPU. Every pass has this shape, so maps do not depend on the number of workers.
    max_failure_rate : float
        The build fails when more than this fraction of samples fails with an error (faces a
        quality gate rejects do not count).
    jpeg_quality : int
        Quality of the ``jpg`` field.
    store_derived : bool
        Store the fields that are functions of other stored fields (``face.png``,
        ``hair.png`` of ``parsing.png``; ``hog.png`` of ``hog.npy``). ``--no-store-derived``
        leaves them out (about a third of the bytes of a default build) and the manifest
        lists them as ``derived_fields``: facedata's readers compute them, bit-identical,
        but a plain tar or WebDataset reader does not see them.
    progress : bool
        Show progress bars (only on a terminal: a redirected log gets none).
    """

    out: str
    size: int = 512
    maps: tuple[str, ...] = DEFAULT_MAPS
    seed: int = 0
    split: str = "auto"
    shard_size: int = 1000
    limit: int | None = None
    batch_size: int = 16
    workers: int = 0
    backend: str = "loky"
    scheduler: str | None = None
    worker_wait: float = 60.0
    device: str = "auto"
    precision: str = "auto"
    network_batch: int = 0
    max_failure_rate: float = 0.01
    jpeg_quality: int = 95
    store_derived: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        # Checked here, so a library caller gets the same one-line errors as the CLI, before
        # anything is read or written.
        from ..sources.splits import SPLIT_MODES
        from .executors import BACKENDS

        if not str(self.out).strip():
            raise ConfigError("--out must name a folder")
        at_least("--size", self.size, 1)
        at_least("--shard-size", self.shard_size, 1)
        at_least("--batch-size", self.batch_size, 1)
        at_least("--workers", self.workers, 0)
        if self.limit is not None:
            at_least("--limit", self.limit, 1)
        at_least("--jpeg-quality", self.jpeg_quality, 1)
        between("--jpeg-quality", self.jpeg_quality, 1, 100)
        one_of("--split", self.split, SPLIT_MODES)
        one_of("--backend", self.backend, BACKENDS)
        device_name("--device", self.device)
        between("--max-failure-rate", self.max_failure_rate, 0, 1)
        between("--worker-wait", self.worker_wait, 0, float("inf"))

    def fingerprint(self) -> dict:
        """The options that determine the output bytes (compared when resuming)."""
        return {k: v for k, v in asdict(self).items() if k not in EXECUTION_FIELDS}
