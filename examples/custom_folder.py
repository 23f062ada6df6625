"""Your own photos → shards: every image under a folder, faces found, aligned and parsed.

    python examples/custom_folder.py [PHOTOS [OUT]]

Without PHOTOS, a small folder is made from scikit-image's public-domain sample photos: the
astronaut as a JPEG, mirrored as a PNG with transparency, as a 16-bit grey PNG and as a
non-square crop in a sub-folder, plus a cat (no human face: it becomes a failure line, not a
crash). The same build from the command line:

    facedata build --src folder --root PHOTOS --out OUT --size 128 --maps parsing,face,hair,mask

(The command exits non-zero when more than --max-failure-rate of the images fail; the cat is
one of five here.)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from facedata.pipeline import BuildConfig, build
from facedata.shards.reader import iter_samples
from facedata.sources import SourceConfig


def sample_photos(root: Path) -> Path:
    """Write a few photos in the formats a real folder holds."""
    from skimage import data

    face = data.astronaut()  # (512, 512, 3) uint8 RGB
    (root / "trip").mkdir(parents=True, exist_ok=True)
    Image.fromarray(face).save(root / "astronaut.jpg", quality=92)
    alpha = np.full(face.shape[:2] + (1,), 255, np.uint8)
    alpha[:40] = 0  # a transparent band: composited on white when read
    Image.fromarray(np.concatenate([face[:, ::-1], alpha], axis=2), "RGBA").save(
        root / "mirrored.png"
    )
    grey = (face.mean(axis=2) * 257).astype(np.uint16)  # 16-bit: scaled to 8 bits when read
    Image.fromarray(grey).save(root / "grey16.png")
    Image.fromarray(face[:, 60:420]).save(root / "trip" / "portrait crop.png")  # 512 x 360
    Image.fromarray(data.chelsea()).save(root / "cat.jpg")
    return root


def main(photos: Path | None, out: Path | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="facedata-"))
    photos = photos or sample_photos(work / "photos")
    out = out or work / "shards"
    report = build(
        BuildConfig(
            out=str(out),
            size=128,
            maps=("parsing", "face", "hair", "mask"),
            shard_size=100,
            max_failure_rate=0.5,  # the cat is no face: one failure line of five is expected
            progress=False,
        ),  # fmt: skip
        SourceConfig(name="folder", root=str(photos)),
        overwrite=True,
    )
    print(f"{report.written} of {report.attempted} images written to {out}")
    for sample in iter_samples(out):
        meta = sample["json"]
        print(f"  {meta['key']:28} {meta['file']:24} align {meta['align']['method']}, "
              f"parsing {meta['maps']['parsing']}, {meta.get('conversion', 'RGB')}")  # fmt: skip
    for line in (out / "failures.jsonl").read_text().splitlines():
        failure = json.loads(line)
        print(f"  failed {failure['key']} at {failure['stage']}: {failure['error'][:70]}...")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:3]]
    main(*(args + [None] * (2 - len(args))))
