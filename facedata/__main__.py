"""``python -m facedata``: the ``facedata`` command."""

from facedata.cli.app import main

main()
