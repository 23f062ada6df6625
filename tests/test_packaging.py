"""What installing facedata gives: one top-level package, the command, light readers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_installs_facedata_alone(tmp_path):
    # Built from a copy, so the build leaves nothing in the repository.
    src = tmp_path / "src"
    for name in ("facedata", "cli"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("facedata-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {
        "facedata",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert "facedata/cli/app.py" in names and not any(n.startswith("cli/") for n in names)
    assert "facedata/py.typed" in names
    points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "facedata = facedata.cli.app:main" in zipfile.ZipFile(wheel).read(points).decode()


def test_every_package_folder_is_listed():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "facedata").rglob("__init__.py")
    }
    assert listed == found | {"facedata.cli"}


def test_python_m_facedata_and_version():
    for cmd in ([sys.executable, "-m", "facedata", "--version"], ["facedata", "--version"]):
        exe = Path(sys.executable).parent / cmd[0] if cmd[0] == "facedata" else None
        done = subprocess.run(
            [str(exe), *cmd[1:]] if exe else cmd, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "facedata 0.1.0"


def test_shell_completion_is_offered():
    done = subprocess.run(
        [sys.executable, "-m", "facedata", "--help"], capture_output=True, text=True, timeout=120
    )
    assert "--install-completion" in done.stdout and "--show-completion" in done.stdout


def test_reading_shards_loads_no_builder_source_or_alignment_module():
    code = (
        "import sys, facedata.data\n"
        "print(' '.join(m for m in sys.modules if m.startswith('facedata')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert "facedata.data.dataset" in loaded  # the check sees what it should
    heavy = ("facedata.pipeline", "facedata.sources", "facedata.align", "facedata.features",
             "facedata.train", "facedata.weights")  # fmt: skip
    assert [m for m in loaded if m.startswith(heavy)] == []
