"""``facedata evaluate``: L1, PSNR and SSIM of a checkpoint by mask-coverage bucket.

Every option comes from :class:`EvalConfig` (see ``cli/options.py``).
"""

from __future__ import annotations

from typing import Any

import typer

from facedata.train.config import EvalConfig

from .common import setup_logging, user_errors
from .options import ConfigOptions, command

EVALUATE = ConfigOptions(EvalConfig, prefix="", group="evaluate")


def run_evaluate(values: dict[str, Any]) -> None:
    """Inpaint the test images and write L1, PSNR and SSIM by mask coverage (JSON + Markdown)."""
    setup_logging()
    with user_errors():
        config = EVALUATE.make(values)
        from facedata.train.evaluate import evaluate  # torch: only when evaluating
        from facedata.train.metrics import markdown

        result = evaluate(config)
    typer.echo(markdown(result), nl=False)


evaluate_command = command(run_evaluate, EVALUATE.parameters())
