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
    for network in ("HED", "BiSeNet", "colour"):
        assert re.search(rf"{network}\s+fp32\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"2 samples in [\d.]+ s: [\d.]+ samples/s \(0 failures\)", out)
    # one process ran both networks for the two samples: 2 sketches + 2 label maps
    assert re.search(r"network process \S+: 4 images in \d+ passes of 2", out)
    assert re.search(r"HED\s+cpu bf16\s+edge \|diff\| max [\d.e+-]+", out)
    kept = float(re.search(r"BiSeNet\s+cpu bf16\s+labels kept ([\d.]+)%", out).group(1))
    assert 90 <= kept <= 100
    # the default colour route of a CPU build; the torch smoothing reproduces OpenCV's
    assert re.search(r"colour route fast-x4", out)
    worst = re.search(r"colour\s+cpu fp32\s+vs OpenCV full schedule: max (\d+) levels over", out)
    assert int(worst.group(1)) <= 1  # float summation order, as tests/test_color.py allows
    # one summary row per measurement: 3 jobs x 2 batches, 4 of the build, 3 agreements
    rows = re.findall(r"^\| (throughput|build|agreement) \|.*\|$", out, re.MULTILINE)
    assert rows.count("throughput") == 6 and rows.count("agreement") == 3
    assert rows.count("build") == 4
