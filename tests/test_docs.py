"""The documentation stays true to the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date():
    generator = _load(ROOT / "docs" / "make_cli_reference.py")
    assert (ROOT / "docs" / "cli.md").read_text() == generator.render(), (
        "docs/cli.md is stale: run python docs/make_cli_reference.py"
    )
