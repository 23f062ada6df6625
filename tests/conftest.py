"""Shared fixtures: a private cache folder and small generated datasets."""

from __future__ import annotations

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
def no_network(monkeypatch):
    """Tests never reach the internet: a weight download fails as it does offline."""

    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in the tests")

    monkeypatch.setattr("urllib.request.urlopen", refuse)


@pytest.fixture(scope="session")
def demo_tree(tmp_path_factory):
    """A read-only CelebAMask-HQ tree of 12 drawn faces (do not modify: copy it first)."""
    return write_demo_tree(tmp_path_factory.mktemp("demo") / "CelebAMask-HQ", count=12)


@pytest.fixture(scope="session")
def training_build(demo_tree, tmp_path_factory):
    """A 64² build of the demo tree (shards of 4) plus sketch.png, color.png and hog.npy.

    The sketch, colour and HOG stages live in other modules; their fields are synthesised
    here (Canny edges, a box blur, random histograms) in the real formats, so readers and
    trainers can be tested on complete shards. Read-only.
    """
    import json

    import cv2
    import numpy as np

    from facedata.pipeline import BuildConfig, build
    from facedata.shards.reader import iter_shard, load_manifest, shard_paths
    from facedata.shards.writer import ShardWriter
    from facedata.sources import SourceConfig

    base = tmp_path_factory.mktemp("base") / "shards"
    build(
        BuildConfig(out=str(base), size=64, shard_size=4, progress=False),
        SourceConfig(name="celebamask-hq", root=str(demo_tree)),
    )
    out = tmp_path_factory.mktemp("training") / "shards"
    rng = np.random.default_rng(0)
    for shard in shard_paths(base):
        with ShardWriter(out / shard.relative_to(base)) as writer:
            for sample in iter_shard(shard):
                key = sample.pop("__key__")
                image = sample["jpg"]
                sample["sketch.png"] = cv2.Canny(image, 80, 160)
                sample["color.png"] = cv2.blur(image, (9, 9))
                sample["hog.npy"] = rng.random((8, 8, 9)).astype(np.float16)
                writer.write(key, sample)
    manifest = load_manifest(base)
    manifest["fields"] = sorted([*manifest["fields"], "sketch.png", "color.png", "hog.npy"])
    manifest["maps"] = [*manifest["maps"], "sketch", "color", "hog"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out
