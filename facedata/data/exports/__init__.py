"""Exports of a finished build for trainers that do not read WebDataset shards.

- ``folders``: ``OUT/<split>/<field>/<key>.<ext>``, for folder-based trainers;
- ``hf``: parquet files where every field and metadata key is a typed column, for
  ``datasets.load_dataset(OUT)``;
- ``lama``: LaMa's ``train/`` images and ``val/``, ``eval/`` image and mask pairs;
- ``controlnet``: ``image``, ``text`` and ``conditioning_image`` columns, for diffusers'
  ``train_controlnet.py``.
"""

from __future__ import annotations

from ..export import export_folders
from .controlnet import export_controlnet
from .hf import export_hf
from .lama import export_lama

#: ``facedata export --format`` → the function that writes it.
EXPORTS = {
    "folders": export_folders,
    "hf": export_hf,
    "lama": export_lama,
    "controlnet": export_controlnet,
}

__all__ = ["EXPORTS", "export_controlnet", "export_folders", "export_hf", "export_lama"]
