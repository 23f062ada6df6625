"""CelebA-HQ images alone (aligned, no annotations), or the images of a CelebAMask-HQ root."""

from __future__ import annotations

from pathlib import Path

from ..sample import Sample, SampleRef
from .base import Source, clash, numbered_images
from .celebamask_hq import CELEBA_HQ_META, IMAGES, MAPPING
from .tables import read_mapping


class CelebAHQ(Source):
    """A folder of ``<id>.jpg`` CelebA-HQ images (or a CelebAMask-HQ root)."""

    name = "celeba-hq"
    meta_schema = CELEBA_HQ_META
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
        images = numbered_images(folder)
        if not images:
            raise self.missing("no <id>.jpg image found")
        mapping_file = next(
            (p for p in (self.root / MAPPING, folder / MAPPING) if p.is_file()), None
        )
        mapping = read_mapping(mapping_file) if mapping_file else {}
        return [
            SampleRef(
                key=f"{self.name}-{i:06d}",
                path=str(folder / names[0]),
                orig_file=mapping.get(i),
                meta={
                    "celeba_hq_id": i,
                    "file": str(Path(folder.name) / names[0]),
                    "aligned": True,
                }
                | ({"celeba_file": mapping[i]} if i in mapping else {}),
                problem=clash(folder.name, i, names),
            )
            for i, names in images.items()
        ]

    def load(self, ref: SampleRef) -> Sample:
        image, meta = self.read_image(ref, reduce=True)
        return Sample(key=ref.key, image=image, meta=meta)
