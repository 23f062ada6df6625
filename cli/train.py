"""``facedata train``: the reference SC-FEGAN training loop on facedata shards.

Every option but ``--resume`` and ``--verbose`` comes from :class:`TrainConfig` and its
:class:`LossWeights` (see ``cli/options.py``); ``facedata.train.config`` imports no torch.
"""

from __future__ import annotations

from typing import Any

import typer

from facedata.train.config import TrainConfig

from .common import setup_logging, user_errors
from .options import ConfigOptions, command, parameter

TRAIN = ConfigOptions(TrainConfig, prefix="", group="train")
#: Options of the command itself, not of the config.
RUN_OPTIONS = [
    parameter("resume", bool, typer.Option(False, "--resume", help="Continue the run in --out.")),
    parameter("verbose", bool, typer.Option(False, "--verbose", "-v", help="Debug logging.")),
]


def run_train(values: dict[str, Any]) -> None:
    """Train SC-FEGAN (gated-conv U-Net + SN-PatchGAN) on shards with sketch.png and color.png.

    Launched by torchrun (e.g. torchrun --nproc-per-node 2 --no-python facedata train ...),
    every process trains on its part of the shards and rank 0 writes the run folder.
    """
    setup_logging(values.pop("verbose"))
    resume = values.pop("resume")
    with user_errors():
        config = TRAIN.make(values)
        from facedata.train import train  # torch: only when training

        summary = train(config, resume=resume)
    if summary["rank"] != 0:
        return  # rank 0 reports for the whole job
    losses = ", ".join(f"{k} {v:.4g}" for k, v in sorted(summary["last"].items()))
    ranks = f" on {summary['world_size']} processes" if summary["world_size"] > 1 else ""
    typer.echo(f"step {summary['step']} in {summary['seconds']:.1f} s{ranks}; {losses}")
    size = summary["checkpoint_bytes"] / 1e6
    typer.echo(f"run folder: {summary['out']} (checkpoint.pt: {size:.1f} MB)")


train_command = command(run_train, [*TRAIN.parameters(), *RUN_OPTIONS])
