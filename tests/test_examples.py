"""Every script in examples/ runs on demo data, so none of them rots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.name for p in (REPO / "examples").glob("*.py"))


def arguments(name: str, shards: Path, tmp: Path) -> list[str]:
    """Command-line arguments of each example: the shared demo build where it reads one."""
    return {
        "custom_folder.py": [],  # makes its own photo folder
        "plugin_stage.py": [str(tmp / "shards")],
        "preview_masks.py": ["--out", str(tmp / "sheet.png"), "--size", "128", "--n", "2"],
        "read_with_hf_datasets.py": [str(shards)],
        "read_with_webdataset.py": [str(shards)],
        "train_minimal.py": [str(tmp)],
    }[name]


#: What each example must print when it worked.
EXPECTED = {
    "custom_folder.py": "4 of 5 images written",
    "plugin_stage.py": "verify: 25 samples, 0 problems",
    "preview_masks.py": "wrote",
    "read_with_hf_datasets.py": "torch: image (64, 64, 3), mask (64, 64)",
    "read_with_webdataset.py": "image     (8, 3, 64, 64) torch.float32",
    "train_minimal.py": "grid.png",
}


def test_every_example_is_tested():
    assert EXAMPLES == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(name, full_build, tmp_path):
    if name == "read_with_hf_datasets.py":
        pytest.importorskip("datasets")
    shards, home = full_build
    env = os.environ | {
        "PYTHONPATH": str(REPO),
        "FACEDATA_HOME": str(home),  # holds the demo tree: examples that build reuse it
        "HF_HOME": str(tmp_path / "hf"),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / name), *arguments(name, shards, tmp_path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert EXPECTED[name] in done.stdout, done.stdout[-3000:]
