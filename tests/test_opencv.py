"""Two OpenCV distributions side by side are named at import, with the command that fixes it."""

from __future__ import annotations

import os
import subprocess
import sys

from facedata.opencv import clash, installed


def test_one_distribution_is_fine_two_are_a_clash():
    assert clash({}) is None and clash({"opencv-python-headless": "4.9.0.80"}) is None
    message = clash({"opencv-python-headless": "4.9.0.80", "opencv-python": "5.0.0.93"})
    assert message.startswith("opencv-python 5.0.0.93 and opencv-python-headless 4.9.0.80 ")
    assert "pip uninstall -y opencv-python opencv-python-headless" in message


def import_facedata(extra_path=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", "import facedata"], capture_output=True, text=True, env=env
    )


def test_importing_facedata_beside_a_second_opencv_warns_with_the_fix(tmp_path):
    assert "opencv-python" in installed()  # this environment's own, facedata's dependency
    assert "side by side" not in import_facedata().stderr
    # What `pip install opencv-python-headless` leaves in site-packages, minus the cv2 files.
    info = tmp_path / "opencv_python_headless-4.9.0.80.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: opencv-python-headless\nVersion: 4.9.0.80\n"
    )
    result = import_facedata(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "and opencv-python-headless 4.9.0.80 are installed side by side" in result.stderr
    assert "pip uninstall -y opencv-python opencv-python-headless" in result.stderr
