"""The command line as a user runs it: build, inspect, preview, demo-data, errors."""

from __future__ import annotations

import json
import shutil

import cv2
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.preview.grid import BAND

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_demo_build_inspect_preview(tmp_path):
    out = tmp_path / "shards"
    result = invoke("build", "--src", "demo", "--out", out, "--size", 96, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "0 failed of 25" in result.output  # 24 drawn faces and the astronaut photo
    result = invoke("inspect", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert sum(s["samples"] for s in summary["splits"].values()) == 25
    assert {"jpg", "parsing.png", "mask.png", "json"} <= set(summary["fields"])
    text = invoke("inspect", out).output
    assert "failures: 0 of 25" in text and "split rule: celeba" in text
    result = invoke("preview", out, "--n", 3, "--tile", 64, "--out", tmp_path / "p.png")
    assert result.exit_code == 0, result.output
    grid = cv2.imread(str(tmp_path / "p.png"))
    # Default maps: image, parsing, face, hair, mask, sketch, colour and HOG glyphs, under a
    # dark band of titles.
    assert grid.shape[:2] == (BAND + 3 * 64, 8 * 64)
    assert grid[:BAND].mean() < 60
    # A second run resumes: nothing to rebuild.
    again = invoke("build", "--src", "demo", "--out", out, "--size", 96, "--no-progress")
    assert "0 shards built, 3 already complete" in again.output


def test_failure_rate_sets_exit_status(tmp_path, demo_tree):
    root = tmp_path / "data"
    shutil.copytree(demo_tree, root)
    (root / "CelebA-HQ-img" / "4.jpg").write_bytes(b"")
    args = ["build", "--src", "celebamask-hq", "--root", root, "--size", 64, "--no-progress"]
    result = invoke(*args, "--out", tmp_path / "a")
    assert result.exit_code == 1
    assert "4.jpg is an empty file" in result.output
    assert invoke(*args, "--out", tmp_path / "b", "--max-failure-rate", 0.2).exit_code == 0


def test_missing_root_is_a_message_not_a_traceback(tmp_path):
    result = invoke("build", "--src", "celebamask-hq", "--root", tmp_path / "none",
                    "--out", tmp_path / "o")  # fmt: skip
    assert result.exit_code == 2
    assert "Expected layout" in result.output and "Traceback" not in result.output


def test_inspect_of_a_non_build(tmp_path):
    result = invoke("inspect", tmp_path)
    assert result.exit_code == 2 and "not a finished facedata build" in result.output


def test_demo_data_writes_the_layout(tmp_path):
    result = invoke("demo-data", "--out", tmp_path / "d", "--count", 3)
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "d" / "CelebA-HQ-img").iterdir()) == [
        "0.jpg", "1.jpg", "2.jpg"
    ]  # fmt: skip
    assert (tmp_path / "d" / "CelebAMask-HQ-mask-anno" / "0" / "00000_skin.png").is_file()


def test_every_command_has_help():
    for cmd in ("build", "inspect", "preview", "demo-data", "weights"):
        result = invoke(cmd, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


def test_interrupted_build_says_how_to_resume(tmp_path, demo_tree, monkeypatch):
    import importlib

    build_module = importlib.import_module("facedata.pipeline.build")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "build_shard", interrupt)
    result = invoke("build", "--src", "celebamask-hq", "--root", demo_tree, "--out",
                    tmp_path / "o", "--size", 64, "--no-progress")  # fmt: skip
    assert result.exit_code == 130
    assert "run the same command again" in result.output
