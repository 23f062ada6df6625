"""HED: both real checkpoint formats load and compute what the published code computes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hed_weights import BSDS_SCORES, BSDS_STAGES, MEAN_BGR, VGG, bsds_state, controlnet_state
from typer.testing import CliRunner

from facedata import weights
from facedata.errors import BadImageError, CorruptWeightsError, MissingWeightsError
from facedata.features import hed


def reference_bsds(state: dict, rgb: np.ndarray, prefix: str = "module") -> np.ndarray:
    """sniklaus/pytorch-hed's forward, from the state dict with torch.nn.functional."""
    bgr = torch.from_numpy(rgb[..., ::-1].copy()).permute(2, 0, 1)[None].double()
    x = bgr - torch.tensor(MEAN_BGR, dtype=torch.float64).view(1, 3, 1, 1)
    h, w = rgb.shape[:2]
    scores = []
    for k, (_, _, n) in enumerate(VGG):
        if k:
            x = F.max_pool2d(x, 2, 2)
        for i in range(n):
            idx = 2 * i + (1 if k else 0)
            key = f"{prefix}{BSDS_STAGES[k]}.{idx}"
            x = F.relu(
                F.conv2d(
                    x, state[key + ".weight"].double(), state[key + ".bias"].double(), padding=1
                )
            )
        s = F.conv2d(
            x,
            state[f"{prefix}{BSDS_SCORES[k]}.weight"].double(),
            state[f"{prefix}{BSDS_SCORES[k]}.bias"].double(),
        )
        scores.append(F.interpolate(s, size=(h, w), mode="bilinear", align_corners=False))
    fused = F.conv2d(
        torch.cat(scores, 1),
        state[f"{prefix}Combine.0.weight"].double(),
        state[f"{prefix}Combine.0.bias"].double(),
    )
    return torch.sigmoid(fused)[0, 0].numpy()


def reference_controlnet(state: dict, rgb: np.ndarray) -> np.ndarray:
    """ControlNet's HEDdetector: RGB - norm, projections resized with cv2, sigmoid of the mean."""
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].double() - state["norm"].double()
    h, w = rgb.shape[:2]
    maps = []
    for k, (_, _, n) in enumerate(VGG, start=1):
        if k > 1:
            x = F.max_pool2d(x, 2, 2)
        for i in range(n):
            key = f"block{k}.convs.{i}"
            x = F.relu(
                F.conv2d(
                    x, state[key + ".weight"].double(), state[key + ".bias"].double(), padding=1
                )
            )
        p = F.conv2d(
            x,
            state[f"block{k}.projection.weight"].double(),
            state[f"block{k}.projection.bias"].double(),
        )
        maps.append(cv2.resize(p[0, 0].numpy(), (w, h), interpolation=cv2.INTER_LINEAR))
    return 1.0 / (1.0 + np.exp(-np.mean(np.stack(maps, 2), axis=2)))


def face_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colour image with ellipses and lines (edges at several scales)."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), rng.integers(60, 200, 3), np.uint8)
    for _ in range(4):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(4, max(5, w // 2))), int(rng.integers(4, max(5, h // 2))))
        cv2.ellipse(
            img,
            centre,
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            rng.integers(0, 256, 3).tolist(),
            -1,
        )
    cv2.line(img, (0, h // 3), (w - 1, h // 2), (250, 250, 250), 2)
    return cv2.GaussianBlur(img, (3, 3), 0)


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("hed-weights")
    files = {}
    for name, state in {
        "module": bsds_state("module"),
        "net": bsds_state("net"),
        "controlnet": controlnet_state(),
    }.items():
        files[name] = root / f"{name}.pth"
        torch.save(state, files[name])
    return files


@pytest.fixture(scope="module")
def models(weight_files):
    return {name: hed.load(path, "cpu") for name, path in weight_files.items()}


class TestLoad:
    def test_key_counts_match_the_published_files(self):
        assert len(bsds_state()) == 38
        assert len(controlnet_state()) == 37

    def test_families_detected(self, models):
        assert models["module"].family == "bsds500"
        assert models["net"].family == "bsds500"
        assert models["controlnet"].family == "controlnet"

    def test_inference_ready(self, models):
        model = models["module"]
        assert not model.training
        conv = model.stages[1][1].weight
        assert conv.is_contiguous(memory_format=torch.channels_last)

    def test_by_registered_name_after_add(self, weight_files, publish):
        publish("hed-controlnet", weight_files["controlnet"])
        weights.add("hed-controlnet", weight_files["controlnet"])
        model = hed.load("hed-controlnet", "cpu", download=False)
        assert model.family == "controlnet"

    def test_missing_weight_says_which_file_goes_where(self):
        with pytest.raises(MissingWeightsError, match="network-bsds500.pth") as info:
            hed.load("hed-bsds500", "cpu", download=False)
        message = str(info.value)
        assert str(weights.cache_dir() / "network-bsds500.pth") in message
        assert "facedata weights add hed-bsds500" in message
        assert "https://huggingface.co/lllyasviel/ControlNet" in message

    def test_foreign_checkpoint(self, tmp_path):
        torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
        with pytest.raises(CorruptWeightsError, match="not a HED checkpoint"):
            hed.load(tmp_path / "other.pth", "cpu")

    def test_wrong_shapes(self, tmp_path):
        state = dict(bsds_state())
        state["moduleVggTwo.1.weight"] = torch.zeros(128, 32, 3, 3)
        torch.save(state, tmp_path / "bad.pytorch")
        with pytest.raises(CorruptWeightsError, match="does not fit"):
            hed.load(tmp_path / "bad.pytorch", "cpu")

    def test_weights_list_shows_both(self, weight_files, publish):
        from facedata.cli.app import app

        publish("hed-bsds500", weight_files["module"])
        weights.add("hed-bsds500", weight_files["module"])
        result = CliRunner().invoke(app, ["weights", "list"])
        assert result.exit_code == 0, result.output
        lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
        assert "ok" in lines["hed-bsds500"]
        assert (
            "missing" in lines["hed-controlnet"] and "ControlNetHED.pth" in lines["hed-controlnet"]
        )


class TestEdges:
    @pytest.mark.parametrize("prefix", ["module", "net"])
    def test_bsds500_equals_reference(self, models, prefix):
        img = face_like(48, 64)
        got = hed.edges(models[prefix], [img])
        want = reference_bsds(bsds_state(prefix), img, prefix)
        assert [g.shape for g in got] == [(48, 64)] and got[0].dtype == np.float32
        assert want.std() > 0.05  # the random weights give a non-trivial map
        np.testing.assert_allclose(got[0], want, atol=2e-5)

    def test_controlnet_equals_reference(self, models):
        img = face_like(48, 64, seed=3)
        got = hed.edges(models["controlnet"], [img])[0]
        want = reference_controlnet(controlnet_state(), img)
        assert want.std() > 0.02
        np.testing.assert_allclose(got, want, atol=2e-5)

    @pytest.mark.parametrize("shape", [(37, 53), (16, 17)])
    def test_odd_sizes(self, models, shape):
        img = face_like(*shape, seed=5)
        got = hed.edges(models["module"], img[None])
        assert [g.shape for g in got] == [shape]
        np.testing.assert_allclose(got[0], reference_bsds(bsds_state(), img), atol=2e-5)

    def test_batch_equals_single(self, models):
        imgs = np.stack([face_like(32, 32, seed=s) for s in range(3)])
        for model in (models["module"], models["controlnet"]):
            batched = hed.edges(model, imgs, batch_size=2)
            single = np.stack([hed.edges(model, [im], batch_size=1)[0] for im in imgs])
            assert [b.shape for b in batched] == [(32, 32)] * 3
            np.testing.assert_allclose(batched, single, atol=1e-5)

    def test_mixed_sizes_keep_input_order(self, models):
        imgs = [face_like(32, 48, 0), face_like(40, 24, 1), face_like(32, 48, 2)]
        got = hed.edges(models["module"], imgs, batch_size=8)
        assert [g.shape for g in got] == [(32, 48), (40, 24), (32, 48)]
        for g, im in zip(got, imgs):
            np.testing.assert_allclose(g, hed.edges(models["module"], [im])[0], atol=1e-5)

    def test_rgba_composites_over_white(self, models):
        img = face_like(32, 32, seed=7)
        rgba = np.dstack([img, np.full((32, 32), 255, np.uint8)])
        rgba[:, :10] = (3, 200, 40, 0)  # transparent pixels with a stray colour
        white = img.copy()
        white[:, :10] = 255
        got, want = hed.edges(models["module"], [rgba, white])
        np.testing.assert_allclose(got, want, atol=1e-6)

    def test_gray_is_replicated(self, models):
        gray = cv2.cvtColor(face_like(32, 32, seed=8), cv2.COLOR_RGB2GRAY)
        got, want = hed.edges(models["controlnet"], [gray, np.dstack([gray] * 3)])
        np.testing.assert_array_equal(got, want)

    def test_too_small(self, models):
        with pytest.raises(BadImageError, match="at least 16x16"):
            hed.edges(models["module"], [np.zeros((15, 40, 3), np.uint8)])

    def test_not_uint8(self, models):
        with pytest.raises(BadImageError, match="uint8"):
            hed.edges(models["module"], [np.zeros((32, 32, 3), np.float32)])

    def test_empty(self, models):
        assert hed.edges(models["module"], []) == []
