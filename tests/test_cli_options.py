"""The options of build, train, evaluate, masks and preview are generated from the config
dataclasses."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import facedata.train
from facedata.cli import build as build_cli
from facedata.cli import evaluate as evaluate_cli
from facedata.cli import masks as masks_cli
from facedata.cli import preview as preview_cli
from facedata.cli import train as train_cli
from facedata.cli.app import app
from facedata.cli.options import ConfigOptions, attribute_help, command
from facedata.features.sketch import CLAHE_CLIP
from facedata.masks import MaskSpec
from facedata.masks.evalset import EvalMaskSpec, published_max_coverage
from facedata.options import option
from facedata.preview.config import MaskPreviewConfig
from facedata.train.config import EvalConfig, LossWeights, TrainConfig

runner = CliRunner()


def configs_of(*args: str, monkeypatch) -> dict:
    """The configs `facedata build ARGS` hands to the library (nothing is built)."""
    seen = {}

    def capture(config, source, stage_configs, **kwargs):
        seen.update(config=config, source=source, stages=stage_configs, **kwargs)
        raise typer.Exit(0)

    monkeypatch.setattr(build_cli, "build", capture)
    result = runner.invoke(app, ["build", "--out", "o", *args])
    assert result.exit_code == 0, result.output
    return seen


def leaf_paths(cls: type, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found = set()
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if not field.metadata.get("cli", True):
            continue
        if dataclasses.is_dataclass(hints[field.name]):  # also one made by a default_factory
            found |= leaf_paths(hints[field.name], (*path, field.name))
        else:
            found.add((*path, field.name))
    return found


def test_every_config_field_is_an_option():
    groups = [build_cli.BUILD, build_cli.SOURCE, *build_cli.STAGE_OPTIONS.values(),
              train_cli.TRAIN, evaluate_cli.EVALUATE, masks_cli.SPEC, preview_cli.PREVIEW,
              preview_cli.MASK]  # fmt: skip
    for options in groups:
        assert {f.path for f in options.flags} == leaf_paths(options.cls), options.cls
        assert all(f.help for f in options.flags), options.cls  # every one documented


def test_defaults_come_from_the_dataclasses(monkeypatch):
    seen = configs_of(monkeypatch=monkeypatch)
    assert seen["config"] == build_cli.BuildConfig(out="o")
    assert seen["source"] == build_cli.SourceConfig()
    for name, config in seen["stages"].items():
        assert config == type(config)(), name
    assert seen["overwrite"] is False and seen["resume"] is True


def test_old_names_new_options_groups_and_switches(monkeypatch):
    seen = configs_of(
        "--src", "folder", "--root", "photos", "--jpeg-quality", "90", "--maps", "mask,hog",
        "--masks-per-sample", "3", "--mask-max-tries", "7", "--min-coverage", "0.1",
        "--detect-size", "900", "--align-predictor", "p.dat", "--no-landmarks",
        "--component-sizes", "100,120,140", "--edit-factor", "0.1,0.2", "--clahe",
        "--stroke-jitter", "2", "--sketch-threshold", "0.2", "--color-factor", "2",
        "--color-passes", "5", "--hog-cell", "4", "--batch-size", "3", "--accept-damaged",
        monkeypatch=monkeypatch,
    )  # fmt: skip
    config, source, stages = seen["config"], seen["source"], seen["stages"]
    assert (config.jpeg_quality, config.maps, config.batch_size) == (90, ("mask", "hog"), 3)
    assert (source.name, source.root, source.accept_damaged) == ("folder", "photos", True)
    mask = stages["mask"]
    assert (mask.count, mask.max_tries, mask.min_coverage) == (3, 7, 0.1)
    align = stages["align"]
    assert (align.detect_size, align.predictor, align.landmarks) == (900, "p.dat", False)
    assert dataclasses.astuple(stages["components"]) == (100, 120, 140)
    assert stages["edits"].edit.factor == (0.1, 0.2)
    style = stages["sketch"].style
    assert (style.clahe_clip, style.width_jitter, style.threshold) == (CLAHE_CLIP, 2, 0.2)
    assert (stages["color"].smoothing.factor, stages["color"].smoothing.passes) == (2, 5)
    assert stages["hog"].cell == 4


def test_a_malformed_list_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(build_cli, "build", lambda *a, **k: None)
    result = runner.invoke(app, ["build", "--out", "o", "--component-sizes", "1,2"])
    assert result.exit_code == 2 and "expected 3 comma-separated values" in result.output
    result = runner.invoke(app, ["build", "--out", "o", "--mask-kind", "nope"])
    assert result.exit_code == 2 and "unknown mask kind 'nope'" in result.output


def calls_of(module, names: tuple[str, ...], args: list[str], monkeypatch) -> tuple:
    """The (args, kwargs) `facedata ARGS` passes to the first of ``module.names`` it calls."""
    seen = []

    def capture(*args, **kwargs):
        seen.append((args, kwargs))
        raise typer.Exit(0)

    for name in names:
        monkeypatch.setattr(module, name, capture)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return seen.pop()


def test_masks_options_come_from_eval_mask_spec(monkeypatch):
    def spec_of(*args: str) -> MaskSpec:
        (_, spec), _ = calls_of(
            masks_cli, ("write_mask_set",), ["masks", "--out", "o", *args], monkeypatch
        )
        assert type(spec) is MaskSpec  # masks.json records the plain spec
        return spec

    (_, spec), kwargs = calls_of(masks_cli, ("write_mask_set",),
                                 ["masks", "--out", "o", "--kind", "box"], monkeypatch)  # fmt: skip
    assert spec == EvalMaskSpec("box").spec == MaskSpec("box")  # box publishes no rule
    assert kwargs == {"size": 512, "count": 1000, "seed": 0, "buckets": None,
                      "overwrite": False, "progress": True}  # fmt: skip
    # An unset --max-coverage is the family's published limit, unless --no-eval-rule.
    assert published_max_coverage("lama-thick") == 0.5
    assert spec_of("--kind", "lama-thick") == MaskSpec("lama-thick", max_coverage=0.5)
    assert spec_of("--kind", "lama-thick", "--no-eval-rule") == MaskSpec("lama-thick")
    given = spec_of("--kind", "lama-thick", "--max-coverage", "0.8")
    assert given == MaskSpec("lama-thick", max_coverage=0.8)
    given = spec_of("--kind", "gfc", "--min-coverage", "0.1", "--max-tries", "7")
    assert given == MaskSpec("gfc", min_coverage=0.1, max_tries=7)
    missing = runner.invoke(app, ["masks", "--out", "o"])
    assert missing.exit_code == 2 and "--kind" in missing.output  # still required
    bad = runner.invoke(app, ["masks", "--out", "o", "--kind", "box", "--max-tries", "0"])
    assert bad.exit_code == 2 and "max_tries must be at least 1" in bad.output


def test_kind_help_names_every_family():
    from facedata.masks import FAMILIES
    from facedata.masks.mixed import NEEDS_FACE

    for cls, kinds in ((MaskSpec, set(FAMILIES)), (EvalMaskSpec, set(FAMILIES) - NEEDS_FACE)):
        named = set(re.findall(r"[a-z][\w-]*", attribute_help(cls)["kind"]))
        assert kinds <= named, (cls, kinds - named)


def test_preview_options_come_from_preview_config(monkeypatch):
    import facedata.preview.masks as mask_previews

    def call(*args: str, module=preview_cli) -> tuple:
        names = ("mask_preview",) if module is mask_previews else ("shard_grid", "edits_grid")
        return calls_of(module, names, ["preview", *args], monkeypatch)

    assert call("b") == ((Path("b"), MaskPreviewConfig()), {})
    edits = call("edits", "--shards", "s", "--n", "3", "--tile", "32", "--split", "train")
    assert edits == ((Path("s"), MaskPreviewConfig(count=3, tile_size=32, split="train")), {})
    plain = call("masks", module=mask_previews)
    assert plain == ((MaskSpec(), MaskPreviewConfig()), {"with_histogram": False})
    chosen = call("masks", "--kind", "box", "--count", "4", "--size", "64", "--seed", "3",
                  "--min-coverage", "0.2", "--max-tries", "5", "--histogram", "h.png",
                  "--histogram-count", "50", module=mask_previews)  # fmt: skip
    assert chosen == (
        (MaskSpec("box", min_coverage=0.2, max_tries=5),
         MaskPreviewConfig(count=4, size=64, seed=3, histogram_count=50)),
        {"with_histogram": True},
    )  # fmt: skip


@dataclass(frozen=True)
class Inner:
    """Inner options.

    Attributes
    ----------
    depth : int
        How deep.
    """

    depth: int = 3


@dataclass(frozen=True)
class Outer:
    """Outer options.

    Attributes
    ----------
    name, label : str
        A ``name`` for :class:`~facedata.Stage`.
    sizes : tuple of int
        Any number of sizes, each 1-100% of the image.
    inner : Inner
        Nested.
    """

    name: str = "x"
    label: str = option("y", flag="--tag", aliases=("--old-tag",))
    sizes: tuple[int, ...] = (1, 2)
    inner: Inner = Inner()


def test_a_new_dataclass_needs_no_cli_code():
    options = ConfigOptions(Outer, prefix="demo-", group="demo")
    decls = {f.path: f.decls for f in options.flags}
    assert decls == {
        ("name",): ("--demo-name",),
        ("label",): ("--tag", "--old-tag"),
        ("sizes",): ("--demo-sizes",),
        ("inner", "depth"): ("--demo-depth",),
    }
    assert attribute_help(Outer)["label"] == "A name for Stage."
    made = []
    cli = typer.Typer()
    cli.command()(command(lambda values: made.append(options.make(values)), options.parameters()))
    assert runner.invoke(cli, []).exit_code == 0
    assert runner.invoke(cli, ["--old-tag", "z", "--demo-sizes", "4,5,6", "--demo-depth", "9"]
                         ).exit_code == 0  # fmt: skip
    assert made == [Outer(), Outer(label="z", sizes=(4, 5, 6), inner=Inner(depth=9))]
    # Click prints help as written: a doubled % would show as %%.
    wide = runner.invoke(cli, ["--help"], env={"COLUMNS": "200"})
    assert "each 1-100% of the image" in wide.output


def test_two_configs_claiming_one_flag_is_refused():
    first = ConfigOptions(Inner, prefix="", group="a").parameters()
    second = ConfigOptions(Inner, prefix="", group="b").parameters()
    with pytest.raises(ValueError, match="flag --depth is declared by a__depth and b__depth"):
        command(lambda values: None, first + second)


def test_one_flag_name_per_concept_across_commands():
    for cmd, flag, alias in (("preview", "--count", "--n"), ("train", "--batch-size", "--batch"),
                             ("evaluate", "--batch-size", "--batch")):  # fmt: skip
        text = runner.invoke(app, [cmd, "--help"], terminal_width=200).output
        assert flag in text and alias in text, cmd


def test_train_options_come_from_train_config(monkeypatch):
    seen = []

    def capture(config, *, resume):
        seen.append((config, resume))
        raise typer.Exit(0)

    monkeypatch.setattr(facedata.train, "train", capture, raising=False)  # torch stays unloaded
    args = ["train", "--shards", "b", "--out", "r"]
    assert runner.invoke(app, args).exit_code == 0
    assert seen.pop() == (TrainConfig(shards="b", out="r"), False)
    result = runner.invoke(app, [
        *args, "--batch", "3", "--no-vgg", "--vgg", "v.pth", "--hole-weight", "2", "--resume",
        "--no-save-optimizer", "--no-amp", "--log-every", "5", "--beta1", "0.9", "--shuffle", "7",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    config, resume = seen.pop()
    assert resume and (config.batch, config.use_vgg, config.vgg) == (3, False, "v.pth")
    assert config.losses == LossWeights(hole=2.0)
    assert (config.save_optimizer, config.amp, config.log_every) == (False, False, 5)
    assert (config.beta1, config.shuffle) == (0.9, 7)  # not reachable before
    result = runner.invoke(app, [*args, "--batch-size", "0"])
    assert result.exit_code == 2
    assert "--batch-size must be an integer of at least 1" in result.output


def test_evaluate_options_come_from_eval_config(monkeypatch):
    import facedata.train.evaluate as evaluation

    seen = []

    def capture(config):
        seen.append(config)
        raise typer.Exit(0)

    monkeypatch.setattr(evaluation, "evaluate", capture)
    args = ["evaluate", "--checkpoint", "c.pt", "--shards", "s"]
    assert runner.invoke(app, args).exit_code == 0
    assert seen.pop() == EvalConfig(checkpoint="c.pt", shards="s")
    result = runner.invoke(app, [*args, "--batch", "2", "--limit", "4", "--masks", "m",
                                 "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert seen.pop() == EvalConfig("c.pt", "s", masks="m", batch=2, limit=4, progress=False)


def test_the_cli_and_its_help_load_no_torch():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from facedata.cli.app import app\n"
        "loaded = ['torch' in sys.modules]\n"
        "for command in ('build', 'train', 'evaluate'):\n"
        "    result = CliRunner().invoke(app, [command, '--help'])\n"
        "    assert result.exit_code == 0 and '--seed' in result.output, result.output\n"
        "    loaded.append('torch' in sys.modules)\n"
        "print(loaded)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[False, False, False, False]"
