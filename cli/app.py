"""The ``facedata`` Typer app: registers one command per module."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from facedata import __version__

from . import build, demo_data, evaluate, export, inspect, masks, preview, train, verify, weights
from .common import user_errors


class Commands(TyperGroup):
    """The command group: an error any command lets escape is still one line, not a
    traceback (see :func:`~cli.common.user_errors`)."""

    def invoke(self, ctx):
        with user_errors():
            return super().invoke(ctx)


app = typer.Typer(cls=Commands, no_args_is_help=True, pretty_exceptions_enable=False)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"facedata {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """facedata: face datasets → training shards for face inpainting and editing models."""


app.command("build")(build.build_command)
app.command("inspect")(inspect.inspect_command)
app.command("preview")(preview.preview_command)
app.command("demo-data")(demo_data.demo_data_command)
app.command("verify")(verify.verify_command)
app.command("masks")(masks.masks_command)
app.command("train")(train.train_command)
app.command("evaluate")(evaluate.evaluate_command)
app.command("export")(export.export_command)
app.add_typer(weights.app, name="weights")


def main() -> None:
    app(prog_name="facedata")
