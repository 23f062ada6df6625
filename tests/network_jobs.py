"""Device jobs of the network-process tests, and a process that serves them.

:func:`serve_jobs` runs :func:`facedata.pipeline.network_process.serve` in a process of its
own, as a network process does, but with these jobs instead of networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facedata.pipeline.network_process import serve
from facedata.pipeline.networks import LocalJob


@dataclass(frozen=True)
class JobSpec:
    """What a :class:`~facedata.pipeline.network_process.RemoteNetwork` needs of a spec."""

    key: str


class ChannelSum(LocalJob):
    """``(N, H, W, C)`` uint8 images to the float32 sum of their channels, ``(N, H, W)``;
    an image's pixel (0, 0, 0) equal to 255 fails its whole pass."""

    def __init__(self, batch: int):
        super().__init__(None, "cpu", batch=batch, precision="fp32")
        self.family = "sum"

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        if len(chunk) != self.batch:  # passes have one shape, whoever sent the images
            raise ValueError(f"a pass of {len(chunk)} images, not {self.batch}")
        if (chunk[:, 0, 0, 0] == 255).any():
            raise ValueError("an image marked to fail")
        return chunk.astype(np.float32).sum(axis=-1)

    def _empty(self, images: np.ndarray) -> np.ndarray:
        return np.zeros(images.shape[:3], np.float32)


def serve_jobs(path: str, authkey: bytes, batch: int, ready) -> None:
    """Serve :class:`ChannelSum` as ``sum`` at ``path``; set the ``ready`` event once
    listening."""
    from multiprocessing.connection import Listener

    listener = Listener(path, family="AF_UNIX", authkey=authkey)
    ready.set()
    serve({"sum": ChannelSum(batch)}, listener, gather_s=0.005)
