"""CelebA-HQ images alone (aligned, no annotations), or the images of a CelebAMask-HQ root."""

from __future__ import annotations

from pathlib import Path

from ..io.images import read_image
from ..sample import Sample, SampleRef
from .base import Source
from .celebamask_hq import IMAGES, MAPPING
from .tables import read_mapping


class CelebAHQ(Source):
    """A folder of ``<id>.jpg`` CelebA-HQ images (or a CelebAMask-HQ root)."""

    name = "celeba-hq"
    layout = (
        "  0.jpg ... 29999.jpg   (1024x1024, aligned), either directly under the root or in\n"
        f"  {IMAGES}/ of a CelebAMask-HQ root; {MAPPING} (optional) beside them"
    )
    obtain = "https://github.com/tkarras/progressive_growing_of_gans (CelebA-HQ) or CelebAMask-HQ"

    def _image_dir(self) -> Path:
        nested = self.root / IMAGES
        return nested if nested.is_dir() else self.root

    def refs(self) -> list[SampleRef]:
        folder = self._image_dir()
        if not folder.is_dir():
            raise self.missing("the root does not exist")
        ids = sorted(int(p.stem) for p in folder.glob("*.jpg") if p.stem.isdigit())
        if not ids:
            raise self.missing("no <id>.jpg image found")
        mapping_file = next(
            (p for p in (self.root / MAPPING, folder / MAPPING) if p.is_file()), None
        )
        mapping = read_mapping(mapping_file) if mapping_file else {}
        return [
            SampleRef(
                key=f"{self.name}-{i:06d}",
                path=str(folder / f"{i}.jpg"),
                orig_file=mapping.get(i),
                meta={
                    "celeba_hq_id": i,
                    "file": str(Path(folder.name) / f"{i}.jpg"),
                    "aligned": True,
                }
                | ({"celeba_file": mapping[i]} if i in mapping else {}),
            )
            for i in ids
        ]

    def load(self, ref: SampleRef) -> Sample:
        image, conversion = read_image(ref.path, reduce_to=self.config.decode_size)
        meta = dict(ref.meta) | ({"conversion": conversion} if conversion else {})
        return Sample(key=ref.key, image=image, meta=meta)
