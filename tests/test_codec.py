"""Field encoding: lossless PNG round trips and the PNG settings chosen for speed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from facedata.shards.codec import decode, encode


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)


def label_map() -> np.ndarray:
    labels = np.zeros((256, 256), np.uint8)
    cv2.ellipse(labels, (128, 140), (80, 100), 0, 0, 360, 1, -1)
    cv2.ellipse(labels, (128, 60), (90, 40), 0, 0, 360, 13, -1)
    cv2.circle(labels, (100, 130), 10, 4, -1)
    return labels


def test_png_round_trips(photo):
    for value in (photo, label_map(), photo[..., 0].copy()):
        np.testing.assert_array_equal(decode("x.png", encode("x.png", value)), value)


def test_png_no_larger_than_libpng_defaults(photo):
    # Run-length zlib with a fixed row filter instead of libpng's per-row filter search:
    # faster, and at level 1 the label map gets markedly smaller, the photo no larger.
    for value, ratio in ((label_map(), 0.8), (photo, 1.02)):
        arr = value[..., ::-1] if value.ndim == 3 else value
        _, default = cv2.imencode(
            ".png", np.ascontiguousarray(arr), [cv2.IMWRITE_PNG_COMPRESSION, 1]
        )
        assert len(encode("x.png", value)) < ratio * len(default)


def test_a_sample_that_cannot_be_encoded_leaves_nothing_in_the_shard(tmp_path):
    import tarfile

    import numpy as np
    import pytest

    from facedata.shards.writer import ShardWriter

    with ShardWriter(tmp_path / "s.tar") as w:
        w.write("good", {"mask.png": np.zeros((4, 4), np.uint8)})
        with pytest.raises(ValueError, match="expected a uint8"):
            w.write("bad", {"a.png": np.zeros((4, 4), np.uint8), "b.png": np.zeros(4, np.float32)})
    with tarfile.open(tmp_path / "s.tar") as tar:
        assert tar.getnames() == ["good.mask.png"]
    assert w.count == 1
