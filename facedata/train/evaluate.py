"""Evaluating a checkpoint: L1, PSNR and SSIM by mask-coverage bucket (JSON + Markdown)."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..data import ShardDataset, binary_array
from ..device import resolve_device
from ..errors import MissingDataError
from ..io.atomic import write_json_atomic, write_text_atomic
from ..io.images import read_label_png
from ..progress import progress_bar
from . import metrics
from .checkpoint import load_checkpoint
from .config import EvalConfig, TrainConfig
from .networks import Generator, inpaint
from .run import TRAIN_FIELDS


def mask_files(folder: str | os.PathLike) -> list[Path]:
    """The ``*.png`` files of a folder, sorted by name.

    Raises
    ------
    MissingDataError
        When the folder holds none.
    """
    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise MissingDataError(
            f"{folder} holds no *.png masks; write an evaluation set with "
            "`facedata masks --out DIR` or pass a folder of PNGs (255 = hole)"
        )
    return files


def evaluate(config: EvalConfig) -> dict:
    """Inpaint every image of the shards and measure the composited result.

    Outputs are quantised to 8 bits, as a saved image would be, and compared with the
    target in [0, 1]; see :mod:`facedata.train.metrics`.

    Returns
    -------
    dict
        The run's identity (checkpoint, step, shards, masks, size) and
        :func:`facedata.train.metrics.table`; also written to ``metrics.json`` and
        ``metrics.md`` in the output folder.
    """

    state = load_checkpoint(config.checkpoint)
    trained = TrainConfig.from_dict(state["config"])
    device = resolve_device(config.device)
    generator = Generator(trained.cnum, trained.size)
    generator.load_state_dict(state["generator"])
    generator.to(device).eval()
    masks = mask_files(config.masks) if config.masks else None
    data = ShardDataset(
        config.shards,
        fields=TRAIN_FIELDS + (() if masks else ("mask.png",)),
        size=trained.size,
        split=config.split,
        shuffle=0,
    )
    loader = torch.utils.data.DataLoader(data, batch_size=config.batch)
    rng = torch.Generator().manual_seed(config.seed)
    rows: list[dict] = []
    with progress_bar(unit="img", desc="evaluate", show=config.progress) as bar:
        for batch in loader:
            if masks:
                batch["mask"] = torch.stack(
                    [
                        torch.from_numpy(
                            binary_array(read_label_png(masks[i % len(masks)]), trained.size)
                        )
                        for i in range(len(rows), len(rows) + len(batch["__key__"]))
                    ]
                )
            rows += _measure(generator, batch, rng, device)
            bar.update(len(batch["__key__"]))
            if config.limit is not None and len(rows) >= config.limit:
                rows = rows[: config.limit]
                break
    if not rows:
        raise MissingDataError(f"{config.shards} holds no samples to evaluate")
    result = {
        "checkpoint": str(config.checkpoint),
        "step": state["step"],
        "shards": str(config.shards),
        "masks": str(config.masks) if config.masks else "mask.png of each sample",
        "size": trained.size,
        "options": asdict(config),
    } | metrics.table(rows)
    out = Path(config.out) if config.out else Path(config.checkpoint).parent / "evaluation"
    write_json_atomic(out / "metrics.json", result)
    write_text_atomic(out / "metrics.md", metrics.markdown(result))
    return result


@torch.no_grad()
def _measure(
    generator: Generator, batch: dict, rng: torch.Generator, device: torch.device
) -> list[dict]:
    image, mask, sketch, color = (batch[k].to(device) for k in ("image", "mask", "sketch", "color"))
    noise = torch.randn(mask.shape, generator=rng).to(device)
    output = inpaint(generator, image, mask, sketch, color, noise)
    result = ((output.clamp(-1, 1) + 1) * 127.5).round() / 255
    target = (image + 1) / 2
    scores = {
        "coverage": mask.flatten(1).mean(1),
        "l1": metrics.l1(result, target),
        "psnr": metrics.psnr(result, target),
        "ssim": metrics.ssim(result, target),
    }
    values = {k: np.asarray(v.float().cpu()) for k, v in scores.items()}
    return [
        {"key": key} | {k: float(v[i]) for k, v in values.items()}
        for i, key in enumerate(batch["__key__"])
    ]
