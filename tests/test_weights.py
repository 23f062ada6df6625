"""The weight manager: names and paths, checksums, offline errors that say what to do."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from facedata import weights
from facedata.errors import ConfigError, CorruptWeightsError, MissingWeightsError


def test_missing_weight_names_file_url_and_place():
    with pytest.raises(MissingWeightsError) as err:
        weights.resolve("parsing-bisenet", download=False)
    text = str(err.value)
    assert "releases/download/v0.2.0/parsing_bisenet.pth" in text
    assert "facedata weights add parsing-bisenet" in text
    assert str(weights.cache_dir() / "parsing_bisenet.pth") in text


def test_offline_download_is_a_missing_weights_error():
    with pytest.raises(MissingWeightsError, match="download failed"):
        weights.fetch("hed-controlnet")
    assert not list(weights.cache_dir().glob("*"))  # nothing half-written


def test_add_refuses_any_file_but_the_published_one(tmp_path, publish):
    payload = b"not the real vgg"
    (tmp_path / "vgg.pth").write_bytes(payload)
    with pytest.raises(CorruptWeightsError, match="expected 553,433,881 bytes, sha256 397923af"):
        weights.add("vgg16", tmp_path / "vgg.pth")
    assert not weights.available("vgg16")
    spec = publish("vgg16", tmp_path / "vgg.pth")
    assert spec.sha256 == hashlib.sha256(payload).hexdigest()
    target = weights.add("vgg16", tmp_path / "vgg.pth")
    assert target.read_bytes() == payload and weights.available("vgg16")


@pytest.mark.parametrize("name", sorted(weights.REGISTRY))
def test_every_catalogued_weight_has_a_full_checksum_size_and_https(name, tmp_path):
    spec = weights.REGISTRY[name]
    assert spec.url.startswith("https://") and spec.size > 0
    assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
    # A random file of the right size is still refused: the whole digest is compared.
    (tmp_path / "random").write_bytes(b"\0")
    with open(tmp_path / "random", "r+b") as f:
        f.truncate(spec.size)
    with pytest.raises(CorruptWeightsError, match=f"not the published {name} file"):
        weights.add(name, tmp_path / "random")


def test_plain_http_is_refused():
    with pytest.raises(ConfigError, match="must be https"):
        weights.WeightSpec("x", "x.pth", "http://example.com/x.pth", None, None, "x")


UNPUBLISHED = weights.WeightSpec(
    "test-unpublished", "unpublished.pth", "https://example.invalid/unpublished.pth", None, None,
    "a weight whose upstream publishes no checksum",
)  # fmt: skip


def test_a_weight_without_published_checksum_is_pinned_on_first_add(tmp_path, monkeypatch):
    monkeypatch.setitem(weights.REGISTRY, UNPUBLISHED.name, UNPUBLISHED)
    (tmp_path / "first.pth").write_bytes(b"first")
    (tmp_path / "other.pth").write_bytes(b"other")
    weights.add(UNPUBLISHED.name, tmp_path / "first.pth")
    pin = json.loads(weights.pin_path(UNPUBLISHED).read_text())
    assert pin == {"sha256": hashlib.sha256(b"first").hexdigest(), "size": 5}
    assert weights.status(UNPUBLISHED, weights.cache_dir() / "unpublished.pth") == "ok"
    with pytest.raises(CorruptWeightsError, match="not the pinned test-unpublished file"):
        weights.add(UNPUBLISHED.name, tmp_path / "other.pth")


def test_weights_list_verifies_every_cached_file(tmp_path, monkeypatch, publish):
    from facedata.cli.app import app

    monkeypatch.setitem(weights.REGISTRY, UNPUBLISHED.name, UNPUBLISHED)
    cache = weights.cache_dir()
    cache.mkdir(parents=True)
    (tmp_path / "bisenet.pth").write_bytes(b"synthetic bisenet")
    publish("parsing-bisenet", tmp_path / "bisenet.pth")
    weights.add("parsing-bisenet", tmp_path / "bisenet.pth")
    (cache / "ControlNetHED.pth").write_bytes(b"a random file copied by hand")
    (cache / "unpublished.pth").write_bytes(b"copied by hand, never pinned")

    result = CliRunner().invoke(app, ["weights", "list"])
    assert result.exit_code == 1, result.output
    states = {line.split()[0]: line.split()[1] for line in result.output.splitlines()[1:-1]}
    assert states == {
        "hed-bsds500": "missing", "hed-controlnet": "mismatch", "parsing-bisenet": "ok",
        "parsing-parsenet": "missing", "vgg16": "missing", "test-unpublished": "unverified",
    }  # fmt: skip
    assert "no published checksum, pinned on first fetch" in result.output
    assert "29,444,406 B" in result.output
    assert "1 cached file(s) are not the published ones" in result.output


def test_a_corrupt_cached_file_is_a_corrupt_weights_error_not_a_missing_one():
    cache = weights.cache_dir()
    cache.mkdir(parents=True)
    (cache / "vgg16-397923af.pth").write_bytes(b"a random VGG copied into the cache")
    with pytest.raises(CorruptWeightsError, match="not the published vgg16 file") as err:
        weights.load_state_dict("vgg16")
    assert not isinstance(err.value, MissingWeightsError)
    assert "facedata weights fetch vgg16" in str(err.value)


def test_an_unreadable_checkpoint_is_one_corrupt_weights_error(tmp_path):
    (tmp_path / "mine.pth").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CorruptWeightsError, match="not a readable torch checkpoint") as err:
        weights.load_state_dict(tmp_path / "mine.pth")
    assert "weights_only" not in str(err.value)


def test_paths_and_unknown_names(tmp_path):
    assert not weights.available(tmp_path / "missing.pth")
    (tmp_path / "w.pth").write_bytes(b"x")
    assert weights.available(tmp_path / "w.pth")
    with pytest.raises(MissingWeightsError, match="unknown weight 'nope'.*hed-bsds500"):
        weights.resolve("nope")


def test_asking_about_weights_does_not_import_torch():
    code = (
        "import sys, facedata.weights as w; w.available('hed-bsds500'); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def corrupt_cache(*names):
    cache = weights.cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    for name in names:
        (cache / weights.REGISTRY[name].filename).write_bytes(b"a random file copied by hand")


@pytest.mark.parametrize(
    "maps, option",
    [(("sketch",), "--sketch"), (("parsing",), "--parser")],
)
def test_a_corrupt_cached_network_stops_the_build_with_one_line(demo_tree, tmp_path, maps, option):
    from facedata.cli.app import app

    corrupt_cache("hed-bsds500", "parsing-bisenet")
    out = tmp_path / "out"
    args = ["build", "--src", "celebamask-hq", "--root", str(demo_tree), "--out", str(out)]
    args += ["--maps", ",".join(maps), "--size", "32", "--no-progress", option, "auto"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "is not the published" in line and "facedata weights fetch" in line
    assert "weights_only" not in result.output and "Traceback" not in result.output
    assert not list(out.rglob("*.tar"))


def test_vgg_from_a_cache_must_be_the_published_file(tmp_path, monkeypatch):
    from test_train import synthetic_vgg

    from facedata.train.vgg import load_vgg

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    synthetic_vgg(weights.cache_dir() / "vgg16-397923af.pth")
    with pytest.raises(CorruptWeightsError, match="not the published vgg16 file"):
        load_vgg()
    (weights.cache_dir() / "vgg16-397923af.pth").unlink()
    synthetic_vgg(tmp_path / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth")
    with pytest.raises(CorruptWeightsError, match="not the published vgg16 file"):
        load_vgg()


def test_a_vgg_given_by_path_is_used_with_a_warning(tmp_path, caplog):
    from test_train import synthetic_vgg

    from facedata.train.vgg import load_vgg

    synthetic_vgg(tmp_path / "my-vgg.pth")
    with caplog.at_level("WARNING"):
        load_vgg(tmp_path / "my-vgg.pth")
    assert "is not the published vgg16 file; using it as asked" in caplog.text


def test_a_damaged_training_checkpoint_is_a_corrupt_weights_error(tmp_path):
    from facedata.train.checkpoint import load_checkpoint

    (tmp_path / "checkpoint.pt").write_bytes(b"the first bytes of a checkpoint, then nothing")
    with pytest.raises(CorruptWeightsError, match="checkpoint.pt is not a readable torch"):
        load_checkpoint(tmp_path / "checkpoint.pt")


class Served(io.BytesIO):
    """What urlopen returns for a download: a body with a Content-Length header."""

    def __init__(self, body: bytes):
        super().__init__(body)
        self.headers = {"Content-Length": str(len(body))}


def test_fetch_pins_an_unpublished_weight_and_refuses_a_wrong_published_one(monkeypatch):
    monkeypatch.setitem(weights.REGISTRY, UNPUBLISHED.name, UNPUBLISHED)
    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: Served(b"served bytes"))
    target = weights.fetch(UNPUBLISHED.name)
    assert target.read_bytes() == b"served bytes"
    assert json.loads(weights.pin_path(UNPUBLISHED).read_text())["size"] == 12
    with pytest.raises(CorruptWeightsError, match="not the published hed-controlnet file"):
        weights.fetch("hed-controlnet")
    assert sorted(p.name for p in weights.cache_dir().iterdir()) == [
        "unpublished.pth", "unpublished.pth.pin.json"]  # fmt: skip
