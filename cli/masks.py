"""``facedata masks``: write a fixed evaluation mask set (PNGs + masks.json).

``--kind``, the coverage bounds, ``--eval-rule`` and ``--max-tries`` come from
:class:`EvalMaskSpec` (see ``cli/options.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from facedata.masks import parse_buckets
from facedata.masks.evalset import EvalMaskSpec, write_mask_set

from .common import user_errors
from .options import ConfigOptions, command, parameter

SPEC = ConfigOptions(EvalMaskSpec, prefix="", group="spec")
#: Options of the command itself, not of the spec.
RUN_OPTIONS = [
    parameter("out", Path, typer.Option(..., "--out", help="Folder for the PNGs and masks.json.")),
    parameter("size", int, typer.Option(512, "--size", help="Mask side in pixels.")),
    parameter("count", int, typer.Option(1000, "--count", help="Number of masks.")),
    parameter(
        "seed", int, typer.Option(0, "--seed", help="Seed; mask k depends on (seed, k) only.")
    ),
    parameter(
        "buckets",
        str | None,
        typer.Option(
            None,
            "--buckets",
            help="Balance over coverage buckets: 'all' or e.g. '10-20,20-30' (replaces the "
            "bounds).",
        ),
    ),
    parameter(
        "overwrite",
        bool,
        typer.Option(False, "--overwrite", help="Replace a previous set in --out."),
    ),
    parameter(
        "progress",
        bool,
        typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ),
]


def run_masks(values: dict[str, Any]) -> None:
    """Write N masks (255 = hole) and masks.json: family, parameters, coverage, histogram."""
    out, size, count = values.pop("out"), values.pop("size"), values.pop("count")
    buckets = values.pop("buckets")
    with user_errors():
        spec = SPEC.make(values).spec
        index = write_mask_set(
            out,
            spec,
            size=size,
            count=count,
            seed=values.pop("seed"),
            buckets=parse_buckets(buckets) if buckets else None,
            overwrite=values.pop("overwrite"),
            progress=values.pop("progress"),
        )
    typer.echo(f"wrote {count} {spec.kind} masks ({size}x{size}) and masks.json to {out}")
    typer.echo("  " + "  ".join(f"{b}%: {c}" for b, c in index["histogram"].items() if c))
    if index["missed"]:
        typer.secho(
            f"  {index['missed']} masks missed their coverage range after {spec.max_tries} "
            "tries (kept the closest; flagged in_range: false)",
            fg=typer.colors.YELLOW,
            err=True,
        )


masks_command = command(run_masks, [*SPEC.parameters(), *RUN_OPTIONS])
