"""facedata: face datasets to training shards for face inpainting and editing models."""

__version__ = "0.1.0"
