"""``python -m facedata.cli``: the ``facedata`` command."""

from .app import main

main()
