"""The documentation stays true to the code."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
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


def python_blocks(markdown: str) -> list[str]:
    """The ```python code blocks of a Markdown page."""
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def test_code_of_the_shard_format_page_runs(full_build, tmp_path):
    """Every Python block of docs/shards.md runs, in order, on a build in ./shards."""
    shards, home = full_build
    (tmp_path / "shards").symlink_to(shards, target_is_directory=True)
    (tmp_path / "docs").symlink_to(ROOT / "docs", target_is_directory=True)
    blocks = python_blocks((ROOT / "docs" / "shards.md").read_text())
    assert len(blocks) >= 4
    if importlib.util.find_spec("datasets") is None:
        blocks = [b for b in blocks if "import datasets" not in b]
    (tmp_path / "blocks.py").write_text("\n".join(blocks))
    env = os.environ | {"PYTHONPATH": str(ROOT), "HF_HOME": str(tmp_path / "hf"),
                        "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    done = subprocess.run([sys.executable, "blocks.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def test_figures_exist_are_used_and_stay_small():
    pages = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    used = set(re.findall(r"\]\((figures/[^)]+\.png)\)", pages))
    made = {f"figures/{p.name}" for p in (ROOT / "docs" / "figures").glob("*.png")}
    assert used == made, "run python docs/make_figures.py, and show every figure on a page"
    assert sum((ROOT / "docs" / f).stat().st_size for f in made) < 2_000_000


def test_relative_links_in_docs_and_readme_resolve():
    import re

    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    broken = [
        f"{page.name} -> {link}"
        for page in pages
        for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
        if not link.startswith(("http://", "https://")) and not (page.parent / link).exists()
    ]
    assert broken == []
