"""The ``facedata`` command line: a Typer app, one module per command."""
