"""facedata: face datasets to training shards for face inpainting and editing models."""

__version__ = "0.1.0"

from .opencv import check as _check_opencv  # noqa: E402

_check_opencv()  # before any module imports cv2: a clash is named, with the fix
