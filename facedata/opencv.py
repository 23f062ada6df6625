"""OpenCV's pip distributions clash: detect two of them installed side by side.

``opencv-python``, ``opencv-python-headless`` and their ``contrib`` variants all install the
same ``cv2`` package. With two of them in one environment (facexlib declares
``opencv-python``; albumentations and many others declare the headless build) each
overwrites the other's files, so ``cv2`` mixes two versions or fails to import, and
uninstalling either one deletes files the other needs. pip does not notice. facedata checks
when it is imported and says how to repair the environment.
"""

from __future__ import annotations

import warnings
from importlib.metadata import PackageNotFoundError, version

#: The distributions that provide ``cv2``.
DISTRIBUTIONS = (
    "opencv-python",
    "opencv-python-headless",
    "opencv-contrib-python",
    "opencv-contrib-python-headless",
)


def clash(installed: dict[str, str]) -> str | None:
    """The repair advice for more than one OpenCV distribution, or ``None`` for at most one.

    Parameters
    ----------
    installed : dict
        Distribution name → version, for the OpenCV distributions present.

    Examples
    --------
    >>> clash({"opencv-python": "4.10.0.84"}) is None
    True
    >>> clash({"opencv-python": "4.10.0.84", "opencv-python-headless": "4.9.0.80"})[:44]
    'opencv-python 4.10.0.84 and opencv-python-he'
    """
    if len(installed) < 2:
        return None
    names = sorted(installed)
    found = " and ".join(f"{n} {installed[n]}" for n in names)
    return (
        f"{found} are installed side by side: they share the cv2 package and overwrite each "
        "other's files, which breaks cv2 or mixes versions. Keep exactly one (facedata works "
        f"with any): pip uninstall -y {' '.join(names)} && pip install opencv-python"
    )


def installed() -> dict[str, str]:
    """The OpenCV distributions in this environment, with their versions."""
    found = {}
    for name in DISTRIBUTIONS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def check() -> None:
    """Warn (once per process, as Python's warnings do) when OpenCV distributions clash."""
    if message := clash(installed()):
        warnings.warn(message, RuntimeWarning, stacklevel=3)
