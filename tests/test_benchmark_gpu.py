"""benchmarks/gpu.py runs end to end on a CPU (--quick) and reports every section."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_run_reports_throughput_build_and_agreement(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--quick", "--n", "2",
         "--workers", "1"],
        capture_output=True, text=True, env=env, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for network in ("HED", "BiSeNet"):
        assert re.search(rf"{network}\s+fp32\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"2 samples in [\d.]+ s: [\d.]+ samples/s \(0 failures\)", out)
    # one process ran both networks for the two samples: 2 sketches + 2 label maps
    assert re.search(r"network process \S+: 4 images in \d+ passes of 2", out)
    assert re.search(r"HED\s+cpu bf16\s+edge \|diff\| max [\d.e+-]+", out)
    kept = float(re.search(r"BiSeNet\s+cpu bf16\s+labels kept ([\d.]+)%", out).group(1))
    assert 90 <= kept <= 100
