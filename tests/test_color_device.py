"""The colour stage's routes in a build: ``auto`` resolved per device, and the torch route's
smoothing served by the network process (a device job without weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from small_builds import shard_bytes

from facedata.device import resolves_to_cuda
from facedata.features.color import SCFEGAN, Smoothing, color_map, fill_segments
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.build import BuildSession, StageSets, _load
from facedata.pipeline.color import ColorConfig
from facedata.pipeline.maps import resize_image, resize_labels
from facedata.pipeline.network_process import network_processes
from facedata.pipeline.networks import (
    NetworkRuntime,
    SmoothingSpec,
    connect,
    job_spec,
    load_job,
)
from facedata.shards.reader import iter_samples
from facedata.sources import SourceConfig, get_source

#: ``stages.color`` as the build state and manifest held it before ``auto`` existed (copied
#: from the build.json the code of that time wrote): CPU builds started then must resume.
OLD_DEFAULT = {
    "route": "fast",
    "background": "median",
    "smoothing": {
        "median_size": 3, "passes": 20, "diameter": 20, "sigma_color": 30.0,
        "sigma_space": 30.0, "factor": 4, "exact_below": 0.04, "exact_margin": 16,
    },
}  # fmt: skip

#: Few passes: the torch tensor loop is slow on a CPU (the route is meant for GPUs).
SHORT = Smoothing(passes=2, factor=1)
SIZE = 64


def _build(out, root, color: ColorConfig | None = None, **options):
    options = {
        "size": SIZE, "maps": ("parsing", "color"), "limit": 6, "shard_size": 2,
        "device": "cpu", "progress": False,
    } | options  # fmt: skip
    stages = {"color": color} if color else {}
    return build(
        BuildConfig(out=str(out), **options),
        SourceConfig("celebamask-hq", root=str(root)),
        stages,
    )


def _state(out) -> dict:
    return json.loads((out / "build.json").read_text())


def test_auto_resolves_per_device():
    assert ColorConfig().route == "auto"
    assert ColorConfig().resolved("cpu") == ColorConfig(route="fast")
    on_gpu = ColorConfig().resolved("cuda:1")
    assert on_gpu.route == "torch" and on_gpu.smoothing == SCFEGAN
    # explicit routes are kept on any device
    assert ColorConfig(route="fast").resolved("cuda") == ColorConfig(route="fast")
    assert resolves_to_cuda("auto") == torch.cuda.is_available()
    assert not resolves_to_cuda("cpu") and resolves_to_cuda("cuda:0")


def test_a_cpu_build_is_the_fast_route_byte_for_byte_and_resumes_old_builds(demo_tree, tmp_path):
    old = _build(tmp_path / "fast", demo_tree, ColorConfig(route="fast"))
    new = _build(tmp_path / "auto", demo_tree)
    assert old.written == new.written == 6 and not new.failures
    assert shard_bytes(tmp_path / "fast") == shard_bytes(tmp_path / "auto")
    for name in ("fast", "auto"):
        state = _state(tmp_path / name)
        assert state["stages"]["color"] == OLD_DEFAULT
        assert "device" not in state["build"]  # no stage runs torch: as before
    assert not new.networks  # no network process
    samples = list(iter_samples(tmp_path / "auto"))
    assert {s["json"]["maps"]["color"] for s in samples} == {"fast-x4"}
    # A build started with the old default options resumes with the new ones, nothing redone.
    again = _build(tmp_path / "fast", demo_tree)
    assert again.shards_built == 0 and again.shards_skipped == 3


def _stage_inputs(root, tmp_path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """key → (image, labels) as the colour stage of :func:`_build` sees them: the same
    source, the stages before it, in this process."""
    config = BuildConfig(
        out=str(tmp_path), size=SIZE, maps=("parsing",), limit=6, device="cpu", progress=False
    )
    inputs = {}
    with BuildSession(config, SourceConfig("celebamask-hq", root=str(root))) as session:
        tasks = session.plan()
        stage_sets = StageSets(session.shard_plan)
        for task in tasks:
            for ref in task.refs:
                sample = _load(session.shard_plan.source, ref, task.split)
                for stage in stage_sets.get("cpu"):
                    stage.run([sample])
                inputs[sample.key] = (sample.image, sample.parsing)
        stage_sets.close()
    return inputs


def test_the_torch_route_is_served_by_the_network_process(demo_tree, tmp_path):
    color = ColorConfig(route="torch", smoothing=SHORT)
    shards, reports = {}, {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        reports[workers] = _build(out, demo_tree, color, workers=workers, network_batch=4)
        assert reports[workers].written == 6 and not reports[workers].failures
        shards[workers] = shard_bytes(out)
    assert len(shards[1]) == 3 and shards[1] == shards[2]
    # every colour request went through the one process, merged into passes of 4
    (stats,) = reports[2].networks.values()
    assert stats["images"] == 6 and stats["batch"] == 4 and stats["requests"] == 3
    assert stats["passes"] * 4 == stats["images"] + stats["padded"]
    state = _state(tmp_path / "w2")
    assert state["stages"]["color"]["route"] == "torch" and state["build"]["device"] == "cpu"
    # the maps equal the library's colour map of the same images, computed directly
    inputs = _stage_inputs(demo_tree, tmp_path / "inputs")
    samples = list(iter_samples(tmp_path / "w2"))
    assert {s["json"]["maps"]["color"] for s in samples} == {"torch-x1"}
    for sample in samples:
        image, labels = inputs[sample["__key__"]]
        np.testing.assert_array_equal(sample["parsing.png"], labels)
        expected = color_map(
            torch.from_numpy(image[None]), torch.from_numpy(labels[None]), smoothing=SHORT
        )[0].numpy()
        np.testing.assert_array_equal(sample["color.png"], expected)


@pytest.fixture(scope="module")
def faces64(demo_tree):
    """Three demo faces at 64², with their labels, as batches."""
    source = get_source(SourceConfig(name="celebamask-hq", root=str(demo_tree)))
    loaded = [source.load(ref) for ref in source.refs()[:3]]
    images = np.stack([resize_image(s.image, SIZE) for s in loaded])
    return images, np.stack([resize_labels(s.parsing, SIZE) for s in loaded])


@pytest.mark.parametrize("smoothing", [SHORT, Smoothing(passes=1, factor=2, exact_below=0.2)])
def test_the_process_answers_what_the_job_computes_here(faces64, smoothing):
    images, labels = faces64
    spec = SmoothingSpec(smoothing)
    assert job_spec(spec.settings()) == spec
    payload = images
    if spec.with_labels:  # crops: the label map rides along as a fourth channel
        payload = np.concatenate([images, labels[..., None]], axis=-1)
    local = load_job(spec, "cpu", batch=2)(payload)
    with network_processes([spec], ["cpu"], NetworkRuntime(batch=2)) as served:
        remote = connect(spec, "cpu", served)
        np.testing.assert_array_equal(remote(payload), local)
    direct = color_map(torch.from_numpy(images), torch.from_numpy(labels), smoothing=smoothing)
    if spec.with_labels:
        np.testing.assert_array_equal(local, direct.numpy())
    else:
        for i in range(len(images)):
            np.testing.assert_array_equal(fill_segments(local[i], labels[i]), direct[i].numpy())
