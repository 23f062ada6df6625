"""A worker process's side of the network process, importing no more than a worker does."""

from __future__ import annotations

from facedata.pipeline.network_process import RemoteNetwork


def send(address, spec, images, out) -> None:
    """Send ``images`` to ``spec`` at ``address`` and put the maps on the ``out`` queue."""
    out.put(RemoteNetwork(address, spec)(images))


def send_batches(address, spec, batches, out) -> None:
    """Send each of ``batches`` in turn on one connection; put ``(images, maps)`` pairs, or
    the error of a batch as its text, on ``out``."""
    link = RemoteNetwork(address, spec)
    answers = []
    for images in batches:
        try:
            answers.append((images, link(images)))
        except Exception as exc:
            answers.append((images, str(exc)))
    link.close()
    out.put(answers)
