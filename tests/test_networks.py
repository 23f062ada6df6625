"""Network runners: fixed-shape passes, precision, channels-last, and the network process."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import torch
from hed_weights import bsds_state
from network_client import send
from test_hed import face_like
from test_parsing import random_checkpoint

from facedata import weights
from facedata.errors import BadImageError, ConfigError, CorruptWeightsError, MissingWeightsError
from facedata.features import hed, parsing
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.network_process import collect_stats, network_processes
from facedata.pipeline.networks import (
    LocalNetwork,
    NetworkRuntime,
    NetworkSpec,
    autocast_dtype,
    connect,
    pad_chunks,
)
from facedata.pipeline.sketch import SketchConfig
from facedata.shards.reader import iter_samples
from facedata.sources import SourceConfig

SIZE = 64


@pytest.fixture(scope="module")
def hed_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "network-bsds500.pytorch"
    torch.save(bsds_state(), path)
    return path


@pytest.fixture(scope="module")
def bisenet_path(tmp_path_factory):
    return random_checkpoint("bisenet", tmp_path_factory.mktemp("w") / "parsing_bisenet.pth")


@pytest.fixture(scope="module")
def faces():
    return np.stack([face_like(SIZE, SIZE, seed) for seed in range(6)])


def hed_spec(path) -> NetworkSpec:
    return NetworkSpec("hed", str(path))


def bisenet_spec(path) -> NetworkSpec:
    return NetworkSpec("parsing", str(path), "bisenet")


def test_pad_chunks_cuts_exact_batches_and_pads_with_zeros():
    images = np.arange(5 * 2, dtype=np.uint8).reshape(5, 2, 1, 1)
    chunks = pad_chunks(images, 2)
    assert [c.shape for c in chunks] == [(2, 2, 1, 1)] * 3
    np.testing.assert_array_equal(np.concatenate(chunks)[:5], images)
    assert not chunks[-1][1].any()


def test_a_map_does_not_depend_on_the_images_sharing_its_batch(hed_file, faces):
    net = LocalNetwork(hed_spec(hed_file), "cpu", batch=4)
    alone = net(faces[:1])
    with_others = net(faces[[1, 2, 0, 3, 4]])[2]
    np.testing.assert_array_equal(alone[0], with_others)
    # and it is HED: the published forward, within float32 rounding
    reference = hed.edges(hed.load(hed_file, "cpu"), faces[:1], amp=False)
    np.testing.assert_allclose(alone, reference, atol=1e-4)


def test_unpadded_runner_is_the_library_call(hed_file, bisenet_path, faces):
    edges = LocalNetwork(hed_spec(hed_file), "cpu")(faces)
    np.testing.assert_array_equal(edges, hed.edges(hed.load(hed_file, "cpu"), faces, amp=False))
    labels = LocalNetwork(bisenet_spec(bisenet_path), "cpu")(faces[:1])
    model = parsing.load(str(bisenet_path), arch="bisenet", device="cpu")
    assert labels.dtype == np.uint8 and labels.shape == (1, SIZE, SIZE)
    # channels-last (the runner's layout) against the library's default layout
    assert (labels == parsing.parse(model, faces[:1])).mean() > 0.999


def test_channels_last_equals_contiguous_within_1e_5(hed_file, faces):
    family, state = hed.convert_state_dict(torch.load(hed_file))
    contiguous = hed.HED(family)
    contiguous.load_state_dict(state)
    with torch.inference_mode():
        x = torch.from_numpy(faces).permute(0, 3, 1, 2).float().contiguous()
        plain = contiguous.eval()(x)[:, 0].numpy()
    net = LocalNetwork(hed_spec(hed_file), "cpu")
    assert net.model.stages[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not contiguous.stages[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    last = net(faces)
    np.testing.assert_allclose(last, plain, atol=1e-5)


# Stated tolerances of reduced precision against float32, on this CPU, for HED edge
# probabilities (max and mean absolute difference) and for the share of parsing labels kept.
TOLERANCE = {"bf16": (0.06, 0.01, 0.97), "fp16": (0.02, 0.002, 0.99)}


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_autocast_agrees_with_fp32_within_the_stated_tolerance(
    precision, hed_file, bisenet_path, faces
):
    try:
        autocast_dtype(precision, torch.device("cpu"))
    except ConfigError:
        pytest.skip(f"this torch build cannot autocast to {precision} on the CPU")
    max_diff, mean_diff, labels_kept = TOLERANCE[precision]
    fp32 = LocalNetwork(hed_spec(hed_file), "cpu", precision="fp32")(faces)
    low = LocalNetwork(hed_spec(hed_file), "cpu", precision=precision)(faces)
    assert low.dtype == np.float32
    diff = np.abs(low - fp32)
    assert 0 < diff.max() <= max_diff and diff.mean() <= mean_diff  # it really ran in low precision
    labels32 = LocalNetwork(bisenet_spec(bisenet_path), "cpu", precision="fp32")(faces[:1])
    labels = LocalNetwork(bisenet_spec(bisenet_path), "cpu", precision=precision)(faces[:1])
    assert (labels == labels32).mean() >= labels_kept


def test_runtime_options_are_checked():
    with pytest.raises(ConfigError, match="--precision must be one of"):
        NetworkRuntime(precision="fp8")
    with pytest.raises(ConfigError, match="--network-batch"):
        NetworkRuntime(batch=-1)
    with pytest.raises(ConfigError, match="network kind"):
        NetworkSpec("vgg", "x")
    assert autocast_dtype("auto", torch.device("cpu")) is None


def test_one_process_serves_every_worker_with_the_local_results(hed_file, bisenet_path, faces):
    specs = [hed_spec(hed_file), bisenet_spec(bisenet_path)]
    runtime = NetworkRuntime(batch=2)
    with network_processes(specs, ["cpu"], runtime) as served:
        address = dict(served.processes)["cpu"]
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        workers = [
            ctx.Process(target=send, args=(address, specs[0], faces[i : i + 3], results))
            for i in (0, 3)
        ]
        for w in workers:
            w.start()
        got = [results.get(timeout=120) for _ in workers]
        for w in workers:
            w.join()
        remote = connect(specs[1], "cpu", served)
        labels = remote(faces[:1])
        with pytest.raises(BadImageError, match="16x16"):
            connect(specs[0], "cpu", served)(np.zeros((1, 8, 8, 3), np.uint8))
        stats = collect_stats(served)
    local = LocalNetwork(specs[0], "cpu", batch=2)
    expected = [local(faces[:3]), local(faces[3:6])]
    got.sort(key=lambda e: not np.array_equal(e, expected[0]))
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(labels, LocalNetwork(specs[1], "cpu", batch=2)(faces[:1]))
    assert remote.family == "bisenet"
    assert stats["cpu"]["images"] == 3 + 3 + 1 and stats["cpu"]["batch"] == 2
    assert stats["cpu"]["passes"] * 2 == stats["cpu"]["images"] + stats["cpu"]["padded"]


def test_a_process_that_cannot_load_its_weights_stops_the_start(tmp_path):
    with pytest.raises(MissingWeightsError, match="facedata weights add hed-controlnet"):
        with network_processes([NetworkSpec("hed", "hed-controlnet")], ["cpu"], NetworkRuntime()):
            pass  # pragma: no cover
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(b"not a checkpoint")
    # found here, unreadable there: the process's own error comes back as it is
    with pytest.raises(CorruptWeightsError, match="not a readable torch checkpoint"):
        with network_processes([NetworkSpec("hed", str(damaged))], ["cpu"], NetworkRuntime()):
            pass  # pragma: no cover


def test_catalogued_weights_are_checked_here_and_read_there(hed_file, faces, publish):
    publish("hed-bsds500", hed_file)  # the catalogue as this process sees it
    weights.add("hed-bsds500", hed_file)
    spec = NetworkSpec("hed", "hed-bsds500")
    with network_processes([spec], ["cpu"], NetworkRuntime(batch=2)) as served:
        remote = connect(spec, "cpu", served)
        assert remote.family == "bsds500"
        np.testing.assert_array_equal(
            remote(faces[:3]), LocalNetwork(spec, "cpu", batch=2)(faces[:3])
        )


def _shard_bytes(out) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.glob("*/*.tar"))}


def test_builds_feed_one_process_and_match_across_worker_counts(
    demo_tree, hed_file, tmp_path, publish
):
    publish("hed-bsds500", hed_file)
    weights.add("hed-bsds500", hed_file)
    source = SourceConfig(name="celebamask-hq", root=str(demo_tree))
    stages = {"sketch": SketchConfig(method="hed")}
    shards = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        config = BuildConfig(
            out=str(out), size=SIZE, maps=("sketch",), shard_size=3, limit=9, workers=workers,
            device="cpu", network_batch=4, progress=False,
        )  # fmt: skip
        report = build(config, source, stages)
        assert report.written == 9 and not report.failures
        # every worker's images went through the one process, in passes of 4
        (stats,) = report.networks.values()
        assert stats["images"] == 9 and stats["batch"] == 4
        shards[workers] = _shard_bytes(out)
    assert len(shards[1]) >= 3 and shards[1] == shards[2]
    samples = list(iter_samples(tmp_path / "w2"))
    assert {s["json"]["maps"]["sketch"] for s in samples} == {"hed-bsds500"}
