"""benchmarks/network_process.py runs end to end (--quick) and reports its three measurements."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_run_reports_host_device_and_served_throughput(tmp_path):
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'benchmarks'}{os.pathsep}{ROOT}")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "network_process.py"), "--quick"],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"\(a\) host work alone: +[\d.]+ ms per sample", out)
    # 0.5 + 0.1 + 1.6 ms of sleep per image of a pass, all passes full: at least 2.2 ms
    device = float(re.search(r"\(b\) device work alone: +([\d.]+) ms per sample", out).group(1))
    assert device >= 2.2
    # every image went through the process: 2 clients x (1 warm-up + 2 rounds) x 4 images x 3 jobs
    served = re.search(r"\(c\) served: +[\d.]+ ms per sample, \d+ samples/s; (\d+) of (\d+)", out)
    assert int(served.group(2)) - int(served.group(1)) == 2 * 3 * 4 * 3
    assert re.search(r"[\d.]+x the serial bound 1/\(a\+b\) .* [\d.]+x the ideal", out)
