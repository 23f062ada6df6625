"""A worker process's side of the network process, importing no more than a worker does."""

from __future__ import annotations

from facedata.pipeline.network_process import RemoteNetwork


def send(address, spec, images, out) -> None:
    """Send ``images`` to ``spec`` at ``address`` and put the maps on the ``out`` queue."""
    out.put(RemoteNetwork(address, spec)(images))
