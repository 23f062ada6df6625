"""The ``facedata`` Typer app: registers one command per module."""

from __future__ import annotations

import typer

from . import build, demo_data, inspect, preview, verify, weights

app = typer.Typer(
    help="facedata: face datasets → training shards for face inpainting and editing models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("build")(build.build_command)
app.command("inspect")(inspect.inspect_command)
app.command("preview")(preview.preview_command)
app.command("demo-data")(demo_data.demo_data_command)
app.command("verify")(verify.verify_command)
app.add_typer(weights.app, name="weights")


def main() -> None:
    app()
