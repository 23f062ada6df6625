"""The training run: data, trainer, progress bar, CSV log, sample grids and checkpoints.

A run folder holds::

    config.json       the resolved options, the device, AMP and whether VGG losses are on
    checkpoint.pt     the latest state (written atomically; ``--resume`` continues from it)
    log.csv           one row per ``log_every`` steps: the losses averaged over those steps
                      (and over the ranks under torchrun)
    samples/step-N.png  input | mask | sketch | colour | output | target for a fixed batch

Under ``torchrun`` every rank trains (see :mod:`facedata.train.distributed`) and rank 0 alone
writes the folder.
"""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path

import torch

from ..data import ShardDataset
from ..errors import ConfigError, MissingDataError
from ..io.atomic import atomic_path, write_json_atomic
from ..preview.grid import save_rgb
from ..progress import progress_bar
from .checkpoint import checkpoint_bytes, load_checkpoint, remove_stale_temporaries, save_checkpoint
from .config import TrainConfig
from .distributed import Node, mean_over_ranks, process_group
from .grid import sample_grid
from .networks import inpaint
from .trainer import INPUTS, Trainer
from .vgg import load_vgg

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
LOG = "log.csv"
SAMPLES = "samples"
#: Samples shown in a grid.
GRID_ROWS = 4

#: Fields SC-FEGAN trains on, besides the mask.
TRAIN_FIELDS = ("jpg", "sketch.png", "color.png")


def training_data(config: TrainConfig, epoch: int = 0) -> ShardDataset:
    """The endless, shuffled stream of training samples for ``config`` (this rank's part of
    it under ``torch.distributed``)."""
    fields = TRAIN_FIELDS + (("mask.png",) if config.masks == "stored" else ())
    return ShardDataset(
        config.shards,
        fields=fields,
        size=config.size,
        masks=config.masks,
        mask_kind=config.mask_kind,
        split=config.split,
        shuffle=config.shuffle,
        repeat=True,
        seed=config.seed,
        epoch=epoch,
    )


def _start(config: TrainConfig, resume: bool) -> tuple[TrainConfig, dict | None]:
    checkpoint = Path(config.out) / CHECKPOINT
    if resume:
        if not checkpoint.is_file():
            raise ConfigError(f"nothing to resume: {checkpoint} does not exist; drop --resume")
        state = load_checkpoint(checkpoint)
        stored = TrainConfig.from_dict(state["config"])
        return stored.resumed_with(config), state
    if checkpoint.is_file():
        raise ConfigError(
            f"{config.out} already holds a run; pass --resume to continue it, or choose "
            "another --out"
        )
    return config, None


def _log_rows(path: Path, keep_until: int) -> None:
    """Drop rows logged after the checkpoint a resumed run starts from."""
    if not path.is_file():
        return
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if int(r["step"]) <= keep_until)


def train(config: TrainConfig, *, resume: bool = False) -> dict:
    """Train SC-FEGAN on facedata shards, data-parallel when launched by ``torchrun``.

    Parameters
    ----------
    config : TrainConfig
    resume : bool
        Continue the run in ``config.out`` from its checkpoint, with its stored options
        except those in :data:`facedata.train.config.RESUMABLE` (``out`` among them: a moved
        or copied run folder goes on where it is now). The data stream restarts at epoch
        ``step`` (a new shuffle and new fresh masks), not where it stopped.

    Returns
    -------
    dict
        ``step`` reached, ``seconds``, ``last`` (the last logged losses), the run folder
        ``out``, this process's ``rank``, ``world_size`` and ``checkpoint_bytes``.

    Raises
    ------
    FacedataError
        Missing shards or fields (naming the ``--maps`` to rebuild with), missing VGG weights
        (unless ``use_vgg`` is off), or a run folder that already holds a run.
    """
    with process_group(config.device) as node:
        return _train(config, resume, node)


def _train(config: TrainConfig, resume: bool, node: Node) -> dict:
    config, state = _start(config, resume)
    out = Path(config.out)
    device = node.device
    vgg = load_vgg(config.vgg).to(device) if config.use_vgg else None
    start = state["step"] if state else 0
    data = training_data(config, epoch=start)
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=config.batch,
        num_workers=config.workers,
        pin_memory=device.type == "cuda",
    )
    trainer = Trainer(config, device, vgg, rank=node.rank, world_size=node.world_size)
    if state:
        trainer.load_state_dict(state)
    if node.main:
        if state:
            log.info("resuming %s at step %d", out, start)
        _prepare_folder(out, config, trainer, start, node)
        _announce_checkpoints(trainer)

    batches = iter(loader)
    preview = None
    sums: dict[str, torch.Tensor] = {}
    summed = 0
    last: dict[str, float] = {}
    # One bar for the run: rank 0's (progress_bar draws it only on a terminal).
    show = config.progress and node.main
    t0 = time.perf_counter()
    with progress_bar(total=config.steps, initial=start, unit="step", show=show) as bar:
        for step in range(start + 1, config.steps + 1):
            batch = next(batches, None)
            if batch is None:
                raise MissingDataError(
                    f"{config.shards} has no {config.split!r} samples to train on"
                )
            if preview is None:
                preview = {k: batch[k][:GRID_ROWS] for k in INPUTS}
            began = time.perf_counter()
            for k, v in trainer.step(batch).items():
                sums[k] = sums.get(k, 0) + v
            if step == start + 1 and device.type == "cpu" and node.main:
                _estimate(time.perf_counter() - began, config.steps - start)
            summed += 1
            if step % config.log_every == 0 or step == config.steps:
                last = mean_over_ranks(
                    {k: float(v) / summed for k, v in sums.items()}, node.world_size
                )
                sums, summed = {}, 0
                if node.main:
                    _append_log(out / LOG, step, time.perf_counter() - t0, last)
                bar.set_postfix({k: f"{last[k]:.3g}" for k in ("d", "g", "ppxl")})
            if node.main and (step % config.sample_every == 0 or step == config.steps):
                save_rgb(out / SAMPLES / f"step-{step:07d}.png", _grid(trainer, preview))
            if node.main and (step % config.checkpoint_every == 0 or step == config.steps):
                save_checkpoint(out / CHECKPOINT, trainer.state_dict())
            bar.update(1)
    checkpoint = out / CHECKPOINT
    return {
        "out": str(out),
        "step": trainer.step_count,
        "seconds": time.perf_counter() - t0,
        "last": last,
        "rank": node.rank,
        "world_size": node.world_size,
        "checkpoint_bytes": checkpoint.stat().st_size if checkpoint.is_file() else 0,
    }


def _prepare_folder(
    out: Path, config: TrainConfig, trainer: Trainer, start: int, node: Node
) -> None:
    """Rank 0: clear a killed run's temporary files, write config.json, trim log.csv."""
    (out / SAMPLES).mkdir(parents=True, exist_ok=True)
    for folder in (out, out / SAMPLES):
        for path in remove_stale_temporaries(folder):
            log.info("removed %s, left by a run that was killed while writing it", path)
    write_json_atomic(
        out / CONFIG,
        config.to_dict()
        | {
            "perceptual_style_losses": "on" if trainer.vgg else "off (--no-vgg)",
            "resolved_device": str(node.device),
            "world_size": node.world_size,
            "global_batch": config.batch * node.world_size,
            "amp_dtype": str(trainer.amp_dtype) if trainer.amp_dtype else None,
            "generator_parameters": sum(p.numel() for p in trainer.generator.parameters()),
        },
    )
    _log_rows(out / LOG, start)


def _announce_checkpoints(trainer: Trainer) -> None:
    sizes = checkpoint_bytes(trainer)
    kept = trainer.config.save_optimizer
    log.info(
        "each checkpoint: ~%s (weights %s, Adam state %s%s)",
        _megabytes(sizes["weights"] + kept * sizes["optimizer"]),
        _megabytes(sizes["weights"]),
        _megabytes(sizes["optimizer"]),
        ", kept; --no-save-optimizer leaves it out" if kept else ", left out",
    )


def _estimate(seconds: float, steps: int) -> None:
    log.info(
        "training on CPU: ~%.2g s/step, so %d steps take ~%.1f h (a CUDA GPU is far faster)",
        seconds,
        steps,
        seconds * steps / 3600,
    )


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _append_log(path: Path, step: int, seconds: float, losses: dict[str, float]) -> None:
    new = not path.is_file()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "seconds", *sorted(losses)])
        if new:
            writer.writeheader()
        writer.writerow({"step": step, "seconds": round(seconds, 3), **losses})


@torch.no_grad()
def _grid(trainer: Trainer, batch: dict[str, torch.Tensor]):
    image, mask, sketch, color = (batch[k].to(trainer.device) for k in INPUTS)
    # The same noise every time, so successive grids differ only by training.
    noise = torch.randn(mask.shape, generator=torch.Generator().manual_seed(0)).to(mask.device)
    with trainer.autocast():
        output = inpaint(trainer.generator, image, mask, sketch, color, noise)
    return sample_grid(image, mask, sketch, color, output)
