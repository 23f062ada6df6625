"""``facedata train``: the reference SC-FEGAN training loop on facedata shards."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import setup_logging, user_errors


def train_command(
    shards: Path = typer.Option(..., "--shards", help="Build folder (or folder of shards)."),
    out: Path = typer.Option(..., "--out", help="Run folder, e.g. runs/NAME."),
    size: int = typer.Option(256, "--size", help="Training resolution (power of two)."),
    batch: int = typer.Option(8, "--batch-size", "--batch", help="Batch size."),
    steps: int = typer.Option(100_000, "--steps", help="Total steps (resume continues to it)."),
    cnum: int = typer.Option(64, "--cnum", help="Generator width (SC-FEGAN: 64)."),
    lr: float = typer.Option(1e-4, "--lr", help="Adam learning rate of both networks."),
    hole_weight: float = typer.Option(1.5, "--hole-weight", help="α: L1 weight in the hole."),
    grad_clip: float = typer.Option(10.0, "--grad-clip", help="Max gradient norm per network."),
    masks: str = typer.Option("stored", "--masks", help="stored (mask.png) or fresh per step."),
    mask_kind: str = typer.Option("scfegan", "--mask-kind", help="Family of fresh masks."),
    split: str = typer.Option("train", "--split", help="Split of the build to train on."),
    seed: int = typer.Option(0, "--seed", help="Seed of weights, noise, data order, masks."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:i."),
    amp: bool = typer.Option(True, "--amp/--no-amp", help="Mixed precision on CUDA."),
    workers: int = typer.Option(2, "--workers", help="Data loader processes."),
    no_vgg: bool = typer.Option(
        False, "--no-vgg", help="Train without the perceptual and style losses (no VGG16)."
    ),
    vgg: Path = typer.Option(None, "--vgg", help="VGG16 weight file (default: caches)."),
    log_every: int = typer.Option(50, "--log-every", help="Steps per log.csv row."),
    sample_every: int = typer.Option(1000, "--sample-every", help="Steps per sample grid."),
    checkpoint_every: int = typer.Option(1000, "--checkpoint-every", help="Steps per save."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show a progress bar (on a terminal only)."
    ),
    save_optimizer: bool = typer.Option(
        True,
        "--save-optimizer/--no-save-optimizer",
        help="Keep the Adam state in checkpoints (2/3 of their size; needed for exact resume).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Train SC-FEGAN (gated-conv U-Net + SN-PatchGAN) on shards with sketch.png and color.png.

    Launched by torchrun (e.g. torchrun --nproc-per-node 2 --no-python facedata train ...),
    every process trains on its part of the shards and rank 0 writes the run folder.
    """
    from facedata.train import LossWeights, TrainConfig, train  # torch: only when training

    setup_logging(verbose)
    config = TrainConfig(
        shards=str(shards),
        out=str(out),
        size=size,
        batch=batch,
        steps=steps,
        cnum=cnum,
        lr=lr,
        grad_clip=grad_clip,
        seed=seed,
        device=device,
        amp=amp,
        split=split,
        masks=masks,
        mask_kind=mask_kind,
        workers=workers,
        use_vgg=not no_vgg,
        vgg=str(vgg) if vgg else None,
        log_every=log_every,
        sample_every=sample_every,
        checkpoint_every=checkpoint_every,
        progress=progress,
        save_optimizer=save_optimizer,
        losses=LossWeights(hole=hole_weight),
    )
    with user_errors():
        summary = train(config, resume=resume)
    if summary["rank"] != 0:
        return  # rank 0 reports for the whole job
    losses = ", ".join(f"{k} {v:.4g}" for k, v in sorted(summary["last"].items()))
    ranks = f" on {summary['world_size']} processes" if summary["world_size"] > 1 else ""
    typer.echo(f"step {summary['step']} in {summary['seconds']:.1f} s{ranks}; {losses}")
    size = summary["checkpoint_bytes"] / 1e6
    typer.echo(f"run folder: {summary['out']} (checkpoint.pt: {size:.1f} MB)")
