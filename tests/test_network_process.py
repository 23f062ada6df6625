"""The network process's pipeline, with real processes and a job of the tests' own
(:mod:`network_jobs`): answers go out while passes run, and every client gets its own maps."""

from __future__ import annotations

import multiprocessing
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from network_client import send_batches
from network_jobs import ChannelSum, JobSpec, serve_jobs

from facedata.pipeline.network_process import Address, RemoteNetwork

BATCH = 4
SPEC = JobSpec("sum")


@pytest.fixture
def served():
    """The address of a process serving :class:`ChannelSum` in passes of ``BATCH``."""
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="facedata-test-") as folder:
        address = Address(str(Path(folder) / "jobs.sock"), secrets.token_bytes(16))
        ready = ctx.Event()
        proc = ctx.Process(
            target=serve_jobs, args=(address.path, address.authkey, BATCH, ready), daemon=True
        )
        proc.start()
        try:
            assert ready.wait(120), "the serving process did not start"
            yield address
        finally:
            proc.terminate()
            proc.join()


def _images(seed: int, n: int, size: int = 32) -> np.ndarray:
    images = np.random.default_rng(seed).integers(0, 255, (n, size, size, 3), dtype=np.uint8)
    images[:, 0, 0, 0] = 0  # 255 there fails a pass (ChannelSum)
    return images


def _stats(address: Address) -> dict:
    link = RemoteNetwork(address)
    try:
        return link.stats()
    finally:
        link.close()


def test_a_worker_slow_to_read_its_answer_does_not_hold_up_the_next_pass(served):
    slow = RemoteNetwork(served, SPEC)
    first = _images(1, BATCH, size=512)  # its answer, 4 MB, is far more than a socket holds
    slow._send(("run", SPEC.key, first.shape, first.dtype.str), first)
    for _ in range(12_000):  # until the first pass has run; its answer now waits for `slow`
        if _stats(served)["passes"]:
            break
        time.sleep(0.01)
    # A process that sent its answers from the thread that runs the passes would be stuck
    # writing to `slow`, which reads nothing until the second worker has its answer.
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    second = _images(2, BATCH)
    worker = ctx.Process(target=send_batches, args=(served, SPEC, [second], out))
    worker.start()
    [(_, maps)] = out.get(timeout=120)
    worker.join()
    job = ChannelSum(BATCH)
    np.testing.assert_array_equal(maps, job(second))
    np.testing.assert_array_equal(slow._answer(), job(first))
    slow.close()
    assert _stats(served)["passes"] == 2


def test_every_client_gets_the_maps_of_its_own_images_in_order(served):
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    sizes = [1, 3, 2, 5, 4, 1]  # requests that straddle passes and share them
    sent = {c: [_images(10 * c + i, n) for i, n in enumerate(sizes)] for c in range(3)}
    workers = [
        ctx.Process(target=send_batches, args=(served, SPEC, batches, out))
        for batches in sent.values()
    ]
    for w in workers:
        w.start()
    answers = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join()
    job = ChannelSum(BATCH)
    by_client = {}
    for pairs in answers:
        client = next(c for c, b in sent.items() if np.array_equal(b[0], pairs[0][0]))
        by_client[client] = pairs
    assert sorted(by_client) == [0, 1, 2]
    for client, pairs in by_client.items():
        for images, (echoed, maps) in zip(sent[client], pairs, strict=True):
            np.testing.assert_array_equal(echoed, images)
            assert not isinstance(maps, str), maps
            np.testing.assert_array_equal(maps, job(images))
    stats = _stats(served)
    assert stats["images"] == 3 * sum(sizes) and stats["requests"] == 3 * len(sizes)
    assert stats["passes"] * BATCH == stats["images"] + stats["padded"]


def test_a_failing_pass_answers_its_sender_and_the_connection_serves_on(served):
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    good, bad = _images(3, 2), _images(4, 2)
    bad[1, 0, 0, 0] = 255
    worker = ctx.Process(target=send_batches, args=(served, SPEC, [good, bad, good], out))
    worker.start()
    first, failed, again = out.get(timeout=120)
    worker.join()
    job = ChannelSum(BATCH)
    np.testing.assert_array_equal(first[1], job(good))
    assert failed[1] == "network process: ValueError: an image marked to fail"
    np.testing.assert_array_equal(again[1], job(good))
    assert _stats(served)["images"] == 4  # a failed pass counts nothing


def test_a_client_with_the_wrong_key_is_refused_and_the_others_are_served(served):
    with pytest.raises(multiprocessing.AuthenticationError):
        RemoteNetwork(Address(served.path, secrets.token_bytes(16)), SPEC)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    images = _images(5, 1)
    worker = ctx.Process(target=send_batches, args=(served, SPEC, [images], out), daemon=True)
    worker.start()
    [(_, maps)] = out.get(timeout=120)  # a process that stopped accepting never answers
    worker.join()
    np.testing.assert_array_equal(maps, ChannelSum(BATCH)(images))
