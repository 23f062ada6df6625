"""``facedata build``: a dataset → WebDataset shards.

Every option but the last three comes from a config dataclass (see ``cli/options.py``): the
build's, the source's and each registered stage's, plugins included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from facedata.errors import BuildFailedError
from facedata.pipeline import BuildConfig, BuildReport, build
from facedata.pipeline.stages import all_stages, stage_class
from facedata.sources import SourceConfig

from .common import setup_logging, user_errors
from .options import ConfigOptions, command, parameter

BUILD = ConfigOptions(BuildConfig, prefix="", group="build")
SOURCE = ConfigOptions(SourceConfig, prefix="", group="source")
#: Map name → the options of its stage, in execution order.
STAGE_OPTIONS = {
    name: ConfigOptions(stage_class(name).Config, prefix=f"{name}-", group=name)
    for name in all_stages()
}
#: Options of the command itself, not of a config.
RUN_OPTIONS = [
    parameter(
        "resume", bool, typer.Option(True, "--resume/--no-resume", help="Skip complete shards.")
    ),
    parameter(
        "overwrite", bool, typer.Option(False, "--overwrite", help="Delete a previous build first.")
    ),
    parameter(
        "repair",
        bool,
        typer.Option(
            False,
            "--repair",
            help="Re-hash kept shards; rebuild those whose bytes no longer match.",
        ),
    ),
    parameter("verbose", bool, typer.Option(False, "--verbose", "-v", help="Debug logging.")),
]


def run_build(values: dict[str, Any]) -> None:
    """Build WebDataset shards (images, parsing, masks, ...) from a face dataset."""
    setup_logging(values.pop("verbose"))
    resume, overwrite = values.pop("resume"), values.pop("overwrite")
    repair = values.pop("repair")
    with user_errors():
        config = BUILD.make(values)
        source = SOURCE.make(values)
        stage_configs = {name: options.make(values) for name, options in STAGE_OPTIONS.items()}
        try:
            report = build(
                config, source, stage_configs, overwrite=overwrite, resume=resume, repair=repair
            )
        except BuildFailedError as exc:
            _summarise(exc.report)
            raise
        except KeyboardInterrupt:
            typer.secho(
                f"interrupted: finished shards in {config.out} are kept; run the same command "
                "again to build the rest",
                fg=typer.colors.YELLOW,
                err=True,
            )
            raise typer.Exit(130) from None
    _summarise(report)


def _summarise(report: BuildReport) -> None:
    out = Path(report.out)
    if report.changes:
        typer.echo(f"inputs changed since the last run: {report.changes} samples", err=True)
    removed = f", {report.shards_removed} removed" if report.shards_removed else ""
    typer.echo(
        f"{report.written} samples written to {out} ({report.shards_built} shards built, "
        f"{report.shards_skipped} already complete{removed}); {len(report.failures)} failed "
        f"of {report.attempted} ({report.rejected} rejected by a quality gate) in "
        f"{report.seconds.get('total', 0.0):.1f} s"
    )
    for failure in report.failures[:5]:
        typer.echo(f"  failed {failure['key']} [{failure['stage']}]: {failure['error']}", err=True)
    if report.failures:
        typer.echo(f"  all failures: {out / 'failures.jsonl'}", err=True)


build_command = command(
    run_build,
    [
        *SOURCE.parameters(),
        *BUILD.parameters(),
        *(p for name, o in STAGE_OPTIONS.items() for p in o.parameters()),
        *RUN_OPTIONS,
    ],
)
