"""facedata.train: layers against direct computations, networks, losses, VGG, the loop, metrics."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from facedata.cli.app import app
from facedata.errors import ConfigError, CorruptWeightsError, MissingWeightsError
from facedata.train import Discriminator, Generator, TrainConfig, Trainer, metrics, train
from facedata.train import losses as L
from facedata.train.checkpoint import checkpoint_bytes, load_checkpoint, save_checkpoint
from facedata.train.layers import GatedConv2d, GatedDeconv2d, lrn
from facedata.train.networks import default_depth, generator_input
from facedata.train.run import training_data
from facedata.train.vgg import VGGFeatures, load_vgg, locate


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a shared 2-core machine, two threads mostly wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- direct computations


def tf_lrn(x, depth_radius=5, bias=5e-5, alpha=1.0, beta=0.5):
    """tf.nn.lrn's documented formula, one channel at a time."""
    out = torch.empty_like(x)
    c = x.shape[1]
    for i in range(c):
        window = x[:, max(0, i - depth_radius) : i + depth_radius + 1]
        out[:, i] = x[:, i] / (bias + alpha * (window**2).sum(1)) ** beta
    return out


def conv_direct(x, weight, bias, *, stride=1, padding=0, dilation=1):
    """Convolution as an explicit patch matrix product."""
    o, _, k, _ = weight.shape
    cols = F.unfold(x, k, dilation=dilation, padding=padding, stride=stride)
    h = (x.shape[2] + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out = weight.reshape(o, -1) @ cols + bias[:, None]
    return out.reshape(x.shape[0], o, h, -1)


def deconv_direct(x, weight, *, stride=2, padding=2, output_padding=1):
    """Transposed convolution: zeros between pixels, padding, the flipped kernel."""
    b, c, h, w = x.shape
    k = weight.shape[2]
    up = x.new_zeros(b, c, (h - 1) * stride + 1, (w - 1) * stride + 1)
    up[:, :, ::stride, ::stride] = x
    lo, hi = k - 1 - padding, k - 1 - padding + output_padding
    up = F.pad(up, (lo, hi, lo, hi))
    flipped = weight.transpose(0, 1).flip(2, 3)
    return conv_direct(up, flipped, torch.zeros(flipped.shape[0]))


def leaky(x):
    return torch.where(x > 0, x, 0.2 * x)


#: VGG16's layers up to pool3 (Simonyan & Zisserman, configuration D; "M" = 2×2 max-pool).
VGG16_TO_POOL3 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M")


def synthetic_vgg(path):
    """VGG16 weights in torchvision's key format (features up to pool3), random values."""
    gen = torch.Generator().manual_seed(0)
    state, cin, i = {}, 3, 0
    for v in VGG16_TO_POOL3:
        if v == "M":
            i += 1
            continue
        state[f"features.{i}.weight"] = (
            torch.randn(v, cin, 3, 3, generator=gen) * (2 / (9 * cin)) ** 0.5
        )
        state[f"features.{i}.bias"] = torch.randn(v, generator=gen) * 0.01
        cin, i = v, i + 2
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


# ---------------------------------------------------------------- layers


@pytest.mark.parametrize(
    "options", [{}, {"depth_radius": 2, "bias": 1.0, "alpha": 0.5, "beta": 0.75}]
)
def test_lrn_matches_the_tensorflow_formula(options):
    x = torch.randn(2, 16, 5, 6, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(lrn(x, **options), tf_lrn(x, **options), rtol=1e-5, atol=1e-6)


def test_lrn_is_computed_in_float32_under_half_precision():
    x = torch.full((1, 11, 2, 2), 300.0)  # 11 · 300² overflows fp16
    out = lrn(x.half())
    assert out.dtype == torch.float16 and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), tf_lrn(x)[:, :, :, :], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "kw", [dict(stride=2), dict(dilation=2), dict(stride=1, norm=False, act=False)]
)
def test_gated_conv_matches_direct_computation(kw):
    torch.manual_seed(0)
    layer = GatedConv2d(4, 12, 3, **kw)
    x = torch.randn(2, 4, 8, 8)
    d = kw.get("dilation", 1)
    args = dict(stride=kw.get("stride", 1), padding=d, dilation=d)
    feature = conv_direct(x, layer.feature.weight, layer.feature.bias, **args)
    gate = conv_direct(x, layer.gate.weight, layer.gate.bias, **args)
    if kw.get("norm", True):
        feature = tf_lrn(feature)
    if kw.get("act", True):
        feature = leaky(feature)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), feature * torch.sigmoid(gate), rtol=1e-4, atol=1e-5)


def test_gated_deconv_matches_direct_computation():
    torch.manual_seed(0)
    layer = GatedDeconv2d(6, 4)
    with torch.no_grad():
        layer.feature_bias.normal_()
        layer.gate_bias.normal_()
    x = torch.randn(2, 6, 5, 7)
    y = deconv_direct(x, layer.deconv.weight)
    expected = leaky(y + layer.feature_bias[:, None, None]) * torch.sigmoid(
        y + layer.gate_bias[:, None, None]
    )
    with torch.no_grad():
        out = layer(x)
    assert out.shape == (2, 4, 10, 14)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- networks


def test_generator_has_the_published_parameter_count():
    with torch.device("meta"):
        g = Generator(cnum=64, size=512)
    n = sum(p.numel() for p in g.parameters())
    assert n == 92_886_100
    assert abs(n - 92.9e6) / 92.9e6 < 0.01
    assert g.depth == 7 and len(g.encoder) == 7 and len(g.up) == 7


def test_generator_and_discriminator_shapes():
    torch.manual_seed(0)
    g = Generator(cnum=8, size=64)
    assert g.depth == default_depth(64) == 4
    x = generator_input(
        torch.rand(2, 3, 64, 64) * 2 - 1,
        (torch.rand(2, 1, 64, 64) > 0.5).float(),
        torch.zeros(2, 1, 64, 64),
        torch.zeros(2, 3, 64, 64),
        torch.randn(2, 1, 64, 64),
    )
    assert x.shape == (2, 9, 64, 64)
    with torch.no_grad():
        y = g(x)
    assert y.shape == (2, 3, 64, 64) and y.abs().max() <= 1
    d = Discriminator(cnum=8)
    with torch.no_grad():
        assert d(torch.randn(2, 8, 64, 64)).shape == (2, 32)
        assert d(torch.randn(2, 8, 128, 128)).shape == (2, 32 * 4)
    for conv in d.convs:  # spectral normalisation: largest singular value 1
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert abs(float(sigma) - 1) < 0.05
    with pytest.raises(ConfigError, match="power of two"):
        Generator(cnum=8, size=100)


# ---------------------------------------------------------------- losses


def test_losses_known_answers():
    target = torch.zeros(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2] = 1
    loss = L.per_pixel_loss(target + 0.2, target, mask, hole_weight=1.5)
    assert float(loss) == pytest.approx(0.1 + 1.5 * 0.1)
    step = torch.zeros(1, 1, 4, 5)
    step[..., 3:] = 1
    assert float(L.tv_loss(step)) == pytest.approx(1 / 4)
    f = torch.randn(2, 3, 4, 5)
    expected = torch.einsum("bchw,bdhw->bcd", f, f) / (3 * 4 * 5)
    torch.testing.assert_close(L.gram(f), expected)
    # A linear critic D(x) = <w, x> has gradient w everywhere.
    w = torch.randn(1, 3, 4, 4)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    (grad,) = torch.autograd.grad((x * w).sum(), x)
    assert float(L.gradient_penalty(grad)) == pytest.approx((float(w.norm()) - 1) ** 2, rel=1e-5)


def test_discriminator_and_generator_loss_formulas():
    gen = torch.Generator().manual_seed(0)
    d_real, d_fake = torch.randn(2, 6, generator=gen), torch.randn(2, 6, generator=gen)
    weights = L.LossWeights()
    d = L.discriminator_loss(d_real, d_fake, torch.tensor(0.3), weights)
    expected = (1 - d_real).mean() + (1 + d_fake).mean() + 10 * 0.3 + 0.001 * (d_real**2).mean()
    assert float(d["d"]) == pytest.approx(float(expected), rel=1e-6)

    out, gt = torch.rand(2, 3, 8, 8, generator=gen), torch.rand(2, 3, 8, 8, generator=gen)
    mask = (torch.rand(2, 1, 8, 8, generator=gen) > 0.5).float()
    comp = out * mask + gt * (1 - mask)
    feats = [[torch.rand(2, c, s, s, generator=gen) for c, s in ((4, 4), (8, 2))] for _ in "abc"]
    g = L.generator_loss(out, gt, mask, d_fake, weights, tuple(feats))
    ppxl = ((out - gt).abs() * (1 - mask)).mean() + 1.5 * ((out - gt).abs() * mask).mean()
    tv = (comp[..., 1:] - comp[..., :-1]).abs().mean() + (
        comp[..., 1:, :] - comp[..., :-1, :]
    ).abs().mean()
    percept = sum((a - t).abs().mean() + (b - t).abs().mean() for a, b, t in zip(*feats))
    style = sum(
        (L.gram(a) - L.gram(t)).abs().mean() + (L.gram(b) - L.gram(t)).abs().mean()
        for a, b, t in zip(*feats)
    )
    total = ppxl + 0.05 * percept + 0.001 * -d_fake.mean() + 120 * style + 0.1 * tv
    assert float(g["g"]) == pytest.approx(float(total), rel=1e-5)
    assert set(L.generator_loss(out, gt, mask, d_fake, weights)) == {"g", "ppxl", "adv", "tv"}


# ---------------------------------------------------------------- VGG


def test_vgg_features_match_a_direct_forward(facedata_home, publish):
    state = synthetic_vgg(facedata_home / "weights" / "vgg16-397923af.pth")
    publish("vgg16", facedata_home / "weights" / "vgg16-397923af.pth")
    vgg = load_vgg()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    h = ((x + 1) / 2 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    expected = []
    for block in ((0, 2), (5, 7), (10, 12, 14)):
        for i in block:
            h = F.relu(
                F.conv2d(h, state[f"features.{i}.weight"], state[f"features.{i}.bias"], padding=1)
            )
        h = F.max_pool2d(h, 2)
        expected.append(h)
    with torch.no_grad():
        pools = vgg(x)
    assert [p.shape[1:] for p in pools] == [(64, 16, 16), (128, 8, 8), (256, 4, 4)]
    for p, e in zip(pools, expected):
        torch.testing.assert_close(p, e, rtol=1e-4, atol=1e-5)
    assert not any(p.requires_grad for p in vgg.parameters())


def test_vgg_features_are_torchvisions_vgg16_cut_after_pool3():
    from torchvision.models import vgg16

    reference = vgg16(weights=None).features[:17]
    ours = VGGFeatures().features
    assert [type(m) for m in ours] == [type(m) for m in reference]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in reference.state_dict().items()
    }
    assert all(torch.isfinite(p).all() for p in ours.parameters())  # not uninitialised memory


def test_vgg_is_found_in_torch_hub_cache_or_the_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(MissingWeightsError, match=r"vgg16-397923af\.pth(.|\n)*--no-vgg"):
        locate()
    hub = tmp_path / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth"
    synthetic_vgg(hub)
    assert locate() == hub
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(CorruptWeightsError, match="not torchvision's VGG16"):
        load_vgg(tmp_path / "bad.pth")


# ---------------------------------------------------------------- the loop


def small_config(build, out, **kw) -> TrainConfig:
    options = dict(size=64, batch=4, cnum=8, workers=0, use_vgg=False, progress=False)
    return TrainConfig(shards=str(build), out=str(out), **(options | kw))


def fixed_batch(config):
    return next(iter(torch.utils.data.DataLoader(training_data(config), batch_size=config.batch)))


def test_training_on_a_fixed_batch_reduces_the_loss(training_build, tmp_path):
    config = small_config(training_build, tmp_path, lr=3e-3)
    trainer = Trainer(config, torch.device("cpu"), None)
    batch = fixed_batch(config)
    history = [trainer.step(batch) for _ in range(10)]
    first = sum(float(h["g"]) for h in history[:2])
    last = sum(float(h["g"]) for h in history[-2:])
    assert last < 0.9 * first
    assert float(history[-1]["ppxl"]) < float(history[0]["ppxl"])


def test_resumed_trainer_takes_the_same_next_step(training_build, facedata_home, tmp_path, publish):
    synthetic_vgg(facedata_home / "weights" / "vgg16-397923af.pth")
    publish("vgg16", facedata_home / "weights" / "vgg16-397923af.pth")
    config = small_config(training_build, tmp_path, batch=2, use_vgg=True)
    batch = fixed_batch(config)
    original = Trainer(config, torch.device("cpu"), load_vgg())
    for _ in range(2):
        original.step(batch)
    save_checkpoint(tmp_path / "checkpoint.pt", original.state_dict())
    expected = original.step(batch)
    assert set(expected) == {"g", "ppxl", "percept", "style", "tv", "adv"} | {
        "d", "d_real", "d_fake", "gp", "drift"
    }  # fmt: skip

    resumed = Trainer(replace(config, seed=7), torch.device("cpu"), load_vgg())
    resumed.load_state_dict(load_checkpoint(tmp_path / "checkpoint.pt"))
    assert resumed.step_count == 2
    got = resumed.step(batch)
    for k in expected:
        assert torch.equal(got[k], expected[k]), k
    for a, b in zip(original.generator.parameters(), resumed.generator.parameters()):
        assert torch.equal(a, b)


def test_fp16_loss_scaling_gives_the_fp32_step(training_build, tmp_path):
    # The path CUDA takes without bf16, forced on the CPU: the gradient penalty must be
    # unscaled, else it is computed on gradients 1024 times too large.
    config = small_config(training_build, tmp_path, batch=2)
    batch = fixed_batch(config)
    full = Trainer(config, torch.device("cpu"), None)
    half = Trainer(config, torch.device("cpu"), None)
    half.amp_dtype = torch.float16
    half.scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    for _ in range(2):
        a, b = full.step(batch), half.step(batch)
    for k in ("d", "gp", "g", "ppxl"):
        assert float(b[k]) == pytest.approx(float(a[k]), rel=1e-2), k
    assert half.scaler.get_scale() == 1024.0  # no overflow, no skipped step


def test_train_and_evaluate_commands(training_build, tmp_path):
    run = tmp_path / "runs" / "tiny"
    args = ["train", "--shards", str(training_build), "--out", str(run), "--size", "64",
            "--batch", "2", "--cnum", "8", "--workers", "0", "--no-progress", "--log-every", "1",
            "--sample-every", "2", "--checkpoint-every", "1"]  # fmt: skip
    runner = CliRunner()
    result = runner.invoke(app, [*args, "--steps", "2"])
    assert result.exit_code == 2 and "--no-vgg" in result.output  # VGG missing: stop
    assert runner.invoke(app, [*args, "--steps", "2", "--no-vgg"]).exit_code == 0
    again = runner.invoke(app, [*args, "--steps", "3", "--no-vgg"])
    assert again.exit_code == 2 and "--resume" in again.output
    result = runner.invoke(app, [*args, "--steps", "3", "--resume"])
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert config["perceptual_style_losses"] == "off (--no-vgg)" and config["use_vgg"] is False
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 3
    with open(run / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2, 3] and "percept" not in rows[0]
    grid = sorted((run / "samples").iterdir())
    assert [p.name for p in grid] == ["step-0000002.png", "step-0000003.png"]

    # Evaluation with a mask folder: every mask half the image (bucket 50-60%).
    masks = tmp_path / "masks"
    masks.mkdir()
    half = np.zeros((128, 128), np.uint8)
    half[:, :64] = 255
    import cv2

    for i in range(3):
        cv2.imwrite(str(masks / f"{i:06d}.png"), half)
    args = ["evaluate", "--checkpoint", str(run / "checkpoint.pt"), "--shards",
            str(training_build / "train"), "--masks", str(masks), "--no-progress"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((run / "evaluation" / "metrics.json").read_text())
    assert [b["bucket"] for b in report["buckets"]] == ["50-60%"]
    assert report["all"]["count"] == 10 and report["all"]["coverage"] == pytest.approx(0.5)
    assert 0 < report["all"]["ssim"] < 1 and report["step"] == 3
    assert "| 50-60% | 10 |" in (run / "evaluation" / "metrics.md").read_text()


def train_args(build, run, *extra):
    return ["train", "--shards", str(build), "--out", str(run), "--size", "64", "--batch", "2",
            "--cnum", "8", "--workers", "0", "--no-vgg", "--log-every", "1",
            "--sample-every", "2", "--checkpoint-every", "1", *extra]  # fmt: skip


def test_a_copied_run_resumes_into_its_new_folder(training_build, tmp_path):
    runner = CliRunner()
    original = tmp_path / "original"
    result = runner.invoke(app, train_args(training_build, original, "--steps", "2"))
    assert result.exit_code == 0, result.output
    fork = tmp_path / "fork"
    shutil.copytree(original, fork)
    result = runner.invoke(app, train_args(training_build, fork, "--steps", "3", "--resume"))
    assert result.exit_code == 0, result.output
    assert load_checkpoint(fork / "checkpoint.pt")["step"] == 3
    assert json.loads((fork / "config.json").read_text())["out"] == str(fork)
    # Before: the fork's steps were written into the original folder.
    assert load_checkpoint(original / "checkpoint.pt")["step"] == 2
    assert not (original / "samples" / "step-0000003.png").exists()


def test_stale_temporary_checkpoints_are_removed_at_start(training_build, tmp_path):
    import subprocess

    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer runs: a run killed inside torch.save
    stale = [run / f".checkpoint.pt.tmp-{gone.pid}", run / "samples" / f".a.png.tmp-{gone.pid}"]
    live = run / f".checkpoint.pt.tmp-{os.getppid()}"  # a writer that is still running
    for path in [*stale, live]:
        path.write_bytes(b"x" * 1000)
    train(small_config(training_build, run, steps=1))
    assert not any(p.exists() for p in stale) and live.exists()
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 1


def test_cpu_training_states_its_speed_and_checkpoint_size(training_build, tmp_path, caplog):
    config = small_config(training_build, tmp_path / "run", steps=2, save_optimizer=False)
    with caplog.at_level(logging.INFO, logger="facedata.train.run"):
        summary = train(config)
    assert re.search(r"training on CPU: ~[\d.e+-]+ s/step, so 2 steps take", caplog.text)
    sizes = checkpoint_bytes(Trainer(config, torch.device("cpu"), None))
    assert f"weights {sizes['weights'] / 1e6:.1f} MB" in caplog.text and "left out" in caplog.text
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert "opt_g" not in state and "opt_d" not in state
    assert summary["checkpoint_bytes"] == (tmp_path / "run" / "checkpoint.pt").stat().st_size
    # The weights are most of a checkpoint without the optimiser; Adam's state doubles it.
    assert sizes["weights"] < summary["checkpoint_bytes"] < 1.2 * sizes["weights"]
    full = Trainer(small_config(training_build, tmp_path), torch.device("cpu"), None)
    full.step(fixed_batch(config))
    save_checkpoint(tmp_path / "full.pt", full.state_dict())
    assert (tmp_path / "full.pt").stat().st_size > 2.9 * sizes["weights"]
    sizes_with_adam = sizes["weights"] + sizes["optimizer"]
    assert (tmp_path / "full.pt").stat().st_size < 1.2 * sizes_with_adam

    # Resuming without optimiser state says so and goes on.
    resumed = replace(config, steps=3)
    with caplog.at_level(logging.WARNING):
        assert train(resumed, resume=True)["step"] == 3
    assert "Adam starts afresh" in caplog.text


def test_no_progress_bar_when_output_is_not_a_terminal(training_build, tmp_path, capfd):
    train(small_config(training_build, tmp_path, steps=2, progress=True))
    out, err = capfd.readouterr()
    assert "\r" not in out + err and "step/s" not in out + err


def test_train_runs_data_parallel_under_torchrun(training_build, tmp_path):
    import subprocess
    import sys

    run = tmp_path / "ddp"
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone",
              "--nproc-per-node", "2", "-m", "facedata"]  # fmt: skip
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    for steps, extra in (("2", []), ("3", ["--resume"])):
        args = train_args(training_build, run, "--steps", steps, *extra)
        done = subprocess.run([*launch, *args], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        # Rank 0 alone reports (and writes); the other rank is silent.
        assert done.stdout.count("run folder:") == 1 and "on 2 processes" in done.stdout
    config = json.loads((run / "config.json").read_text())
    assert config["world_size"] == 2 and config["global_batch"] == 4
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 3
    with open(run / "log.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3]
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.json", "log.csv",
                                                      "samples"]  # fmt: skip


# ---------------------------------------------------------------- metrics


def test_metrics_known_answers_and_ssim_matches_skimage():
    from skimage.metrics import structural_similarity

    x = torch.full((1, 3, 16, 16), 0.5)
    assert float(metrics.psnr(x, x + 0.1)) == pytest.approx(20.0, abs=1e-4)
    assert float(metrics.l1(x, x + 0.1)) == pytest.approx(0.1)
    assert float(metrics.psnr(x, x)) == pytest.approx(metrics.MAX_PSNR)
    rng = np.random.default_rng(0)
    a = rng.random((2, 3, 24, 30))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    got = metrics.ssim(torch.from_numpy(a), torch.from_numpy(b))
    for i in range(2):
        ref = structural_similarity(
            a[i].transpose(1, 2, 0), b[i].transpose(1, 2, 0), gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=1.0, channel_axis=-1,
        )  # fmt: skip
        assert float(got[i]) == pytest.approx(ref, abs=1e-9)
    assert float(metrics.ssim(x, x)) == pytest.approx(1.0)


def test_metric_table_by_coverage_bucket():
    rows = [
        {"coverage": 0.05, "l1": 0.1, "psnr": 30.0, "ssim": 0.9},
        {"coverage": 0.15, "l1": 0.2, "psnr": 20.0, "ssim": 0.8},
        {"coverage": 0.19, "l1": 0.4, "psnr": 10.0, "ssim": 0.6},
        {"coverage": 1.0, "l1": 0.5, "psnr": 5.0, "ssim": 0.1},
    ]
    result = metrics.table(rows)
    assert [(b["bucket"], b["count"]) for b in result["buckets"]] == [
        ("0-10%", 1),
        ("10-20%", 2),
        ("90-100%", 1),
    ]
    assert result["buckets"][1]["l1"] == pytest.approx(0.3)
    assert result["all"]["psnr"] == pytest.approx(16.25)
    assert "| 10-20% | 2 | 0.3000 | 15.00 | 0.7000 |" in metrics.markdown(result)
