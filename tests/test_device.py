"""Device choice per shard task (facedata/device.py)."""

from __future__ import annotations

import pytest
import torch

from facedata.device import task_device


@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_tasks_spread_over_every_gpu(monkeypatch, device):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert [task_device(device, i) for i in range(7)] == [
        "cuda:0", "cuda:1", "cuda:2", "cuda:0", "cuda:1", "cuda:2", "cuda:0",
    ]  # fmt: skip


def test_one_gpu_none_or_a_pinned_device_is_kept(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert task_device("cuda", 5) == "cuda"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert task_device("auto", 5) == "auto"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert task_device("cuda:2", 5) == "cuda:2"
    assert task_device("cpu", 5) == "cpu"
