"""Shared fixtures: a private cache folder, small generated datasets and the astronaut photo."""

from __future__ import annotations

import numpy as np
import pytest

from facedata.sources.demo import write_demo_tree


@pytest.fixture(autouse=True)
def facedata_home(tmp_path_factory, monkeypatch):
    """Every test gets its own cache, so nothing from the user's cache leaks in."""
    home = tmp_path_factory.mktemp("facedata-home")
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    monkeypatch.delenv("FACEDATA_DATA", raising=False)
    return home


@pytest.fixture(autouse=True)
def one_core(monkeypatch):
    """Builds run in the test's own process unless a test asks for workers, so what a test
    monkeypatches (functions, FACEDATA_HOME) reaches the stages."""
    monkeypatch.setattr("os.cpu_count", lambda: 1)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Tests never reach the internet: a weight download fails as it does offline."""

    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in the tests")

    monkeypatch.setattr("urllib.request.urlopen", refuse)


@pytest.fixture
def publish(monkeypatch):
    """``publish(name, path)``: let a synthetic weight file stand for the published one of a
    registered name, as if upstream had released it (its sha256 and size go in the catalogue).
    The real files cannot be downloaded here, and the catalogue refuses any other file."""
    from dataclasses import replace

    from facedata import weights

    def publish(name, path):
        spec = replace(
            weights.REGISTRY[name], sha256=weights.sha256_file(path), size=path.stat().st_size
        )
        monkeypatch.setitem(weights.REGISTRY, name, spec)
        return spec

    return publish


@pytest.fixture(scope="session")
def demo_tree(tmp_path_factory):
    """A read-only CelebAMask-HQ tree of 12 drawn faces (do not modify: copy it first)."""
    return write_demo_tree(tmp_path_factory.mktemp("demo") / "CelebAMask-HQ", count=12)


@pytest.fixture(scope="session")
def training_build(demo_tree, tmp_path_factory):
    """A 64² build of the demo tree (shards of 4) with every map a trainer reads. Read-only."""
    from facedata.pipeline import BuildConfig, build
    from facedata.pipeline.sketch import SketchConfig
    from facedata.sources import SourceConfig

    out = tmp_path_factory.mktemp("training") / "shards"
    build(
        BuildConfig(out=str(out), size=64, shard_size=4, progress=False),
        SourceConfig(name="celebamask-hq", root=str(demo_tree)),
        {"sketch": SketchConfig(method="xdog")},
    )
    return out


@pytest.fixture(scope="session")
def full_build(tmp_path_factory):
    """The embedded demo (24 drawn faces + the astronaut photo) built at 64² with every map
    and two masks per sample. Read-only. Returns ``(build folder, FACEDATA_HOME)``: that home
    holds the demo tree, for subprocesses that build the demo again."""
    from facedata.pipeline import BuildConfig, build
    from facedata.pipeline.maps import MaskConfig
    from facedata.pipeline.sketch import SketchConfig
    from facedata.sources import SourceConfig

    home = tmp_path_factory.mktemp("full-build-home")
    out = tmp_path_factory.mktemp("full-build") / "shards"
    maps = ("parsing", "face", "hair", "mask", "sketch", "color", "hog", "components", "edits")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACEDATA_HOME", str(home))
        build(
            BuildConfig(out=str(out), size=64, maps=maps, progress=False),
            SourceConfig(name="demo"),
            {"mask": MaskConfig(count=2), "sketch": SketchConfig(method="xdog")},
        )
    return out, home


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """scikit-image's astronaut (NASA, public domain): a real photograph with one face."""
    from skimage.data import astronaut

    return astronaut()


@pytest.fixture(scope="session")
def landmarks(photo) -> np.ndarray:
    """The astronaut's 68 detected landmarks (the predictor is read once per run)."""
    from facedata.align import LandmarkDetector

    return LandmarkDetector()(photo)[0].landmarks
