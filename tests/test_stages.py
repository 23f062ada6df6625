"""The stage machinery: map resolution and batch computation with per-sample fallback."""

from __future__ import annotations

import numpy as np

from facedata.pipeline.stages import BatchStage, StageContext, resolve_maps
from facedata.sample import Sample


class Doubler(BatchStage):
    """Doubles the image; refuses any batch holding a sample keyed 'bad'."""

    name = "double"
    batches: list[list[str]] = []

    def compute(self, samples):
        self.batches.append([s.key for s in samples])
        if any(s.key == "bad" for s in samples):
            raise ValueError("bad sample in batch")
        return [s.image * 2 for s in samples]

    def store(self, sample, result):
        sample.fields["double.npy"] = result


def _sample(key, value):
    return Sample(key=key, image=np.full((2, 2, 3), value, np.uint8))


def test_batch_failure_is_retried_per_sample():
    stage = Doubler(None, StageContext(size=2, seed=0))
    failed = _sample("early", 1)
    failed.fail("load", "unreadable")
    samples = [_sample("a", 1), _sample("bad", 2), failed, _sample("c", 3)]
    stage.run(samples)
    assert stage.batches[0] == ["a", "bad", "c"]  # failed samples are never computed
    assert stage.batches[1:] == [["a"], ["bad"], ["c"]]
    assert samples[0].fields["double.npy"][0, 0, 0] == 2
    assert samples[3].fields["double.npy"][0, 0, 0] == 6
    stage_name, message = samples[1].error
    assert stage_name == "double"
    assert message.startswith("ValueError: bad sample in batch (at test_stages.py:")
    assert samples[2].error == ("load", "unreadable")


def test_required_maps_run_without_being_emitted():
    resolved = dict(resolve_maps(("face",)))
    assert resolved["parsing"] is False and resolved["face"] is True
    assert list(resolved)[:2] == ["align", "resize"]
