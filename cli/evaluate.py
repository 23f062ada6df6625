"""``facedata evaluate``: L1, PSNR and SSIM of a checkpoint by mask-coverage bucket."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import setup_logging, user_errors


def evaluate_command(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="checkpoint.pt of a run."),
    shards: Path = typer.Option(..., "--shards", help="Build folder or split folder."),
    masks: Path = typer.Option(
        None, "--masks", help="Folder of PNG masks (255 = hole); default: each mask.png."
    ),
    out: Path = typer.Option(
        None, "--out", help="Folder for metrics.json/.md (default: evaluation/ by the run)."
    ),
    split: str = typer.Option("test", "--split", help="Split, when --shards is a build."),
    batch: int = typer.Option(8, "--batch-size", "--batch", help="Images per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:i."),
    seed: int = typer.Option(0, "--seed", help="Seed of the noise input."),
    limit: int = typer.Option(None, "--limit", help="Evaluate only the first N images."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Inpaint the test images and write L1, PSNR and SSIM by mask coverage (JSON + Markdown)."""
    from facedata.train.evaluate import EvalConfig, evaluate  # torch: only when evaluating
    from facedata.train.metrics import markdown

    setup_logging()
    config = EvalConfig(
        checkpoint=str(checkpoint),
        shards=str(shards),
        masks=str(masks) if masks else None,
        out=str(out) if out else None,
        split=split,
        batch=batch,
        device=device,
        seed=seed,
        limit=limit,
        progress=progress,
    )
    with user_errors():
        result = evaluate(config)
    typer.echo(markdown(result), nl=False)
