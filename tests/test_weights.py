"""The weight manager: names and paths, checksums, offline errors that say what to do."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from facedata import weights
from facedata.errors import MissingWeightsError


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


def test_add_verifies_checksum_prefix(tmp_path, monkeypatch):
    payload = b"not the real vgg"
    (tmp_path / "vgg.pth").write_bytes(payload)
    with pytest.raises(MissingWeightsError, match="checksum mismatch: expected 397923af"):
        weights.add("vgg16", tmp_path / "vgg.pth")
    assert not weights.available("vgg16")
    prefix = hashlib.sha256(payload).hexdigest()[:8]
    spec = weights.REGISTRY["vgg16"]
    monkeypatch.setitem(
        weights.REGISTRY, "vgg16", type(spec)(**{**spec.__dict__, "sha256": prefix})
    )
    target = weights.add("vgg16", tmp_path / "vgg.pth")
    assert target.read_bytes() == payload and weights.available("vgg16")


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
