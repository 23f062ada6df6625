"""One weight manager for every network facedata runs (HED, parsing, VGG16).

Weights live in a cache directory (``$FACEDATA_HOME/weights``, default
``~/.cache/facedata/weights``). A weight is found by its registered name, or given as a path.
When it is missing, :func:`fetch` downloads it with a progress bar and checks its sha256; on an
offline machine ``facedata weights add NAME PATH`` copies a file into the cache instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import MissingWeightsError
from .io.atomic import atomic_path


@dataclass(frozen=True)
class WeightSpec:
    """A known weight file.

    Attributes
    ----------
    name : str
        Name used on the command line (``hed-bsds500``).
    filename : str
        File name in the cache, as the upstream project names it.
    url : str
        Published download address.
    sha256 : str or None
        Checksum of the published file, or its leading hex digits (torchvision's file-name
        convention); ``None`` when it could not be recorded here (the file is then accepted
        as it is).
    description : str
        What the network is and where it comes from.
    """

    name: str
    filename: str
    url: str
    sha256: str | None
    description: str


REGISTRY: dict[str, WeightSpec] = {}


def register(spec: WeightSpec) -> WeightSpec:
    """Add a weight to the registry (the networks facedata knows are registered below)."""
    REGISTRY[spec.name] = spec
    return spec


# The catalogue lives here, not in the network modules, so that asking whether a weight is
# present never imports torch.
for _spec_ in (
    WeightSpec(
        name="hed-bsds500",
        filename="network-bsds500.pytorch",
        url="http://content.sniklaus.com/github/pytorch-hed/network-bsds500.pytorch",
        sha256=None,
        description="HED, BSDS500 model converted to PyTorch (Xie & Tu 2015; S. Niklaus)",
    ),
    WeightSpec(
        name="hed-controlnet",
        filename="ControlNetHED.pth",
        url="https://huggingface.co/lllyasviel/Annotators/resolve/main/ControlNetHED.pth",
        sha256=None,
        description="HED, ControlNet's Apache-2 re-implementation (lllyasviel/Annotators)",
    ),
    WeightSpec(
        name="parsing-bisenet",
        filename="parsing_bisenet.pth",
        url="https://github.com/xinntao/facexlib/releases/download/v0.2.0/parsing_bisenet.pth",
        sha256=None,
        description="facexlib BiSeNet face parsing, CelebAMask-HQ 19 classes",
    ),
    WeightSpec(
        name="parsing-parsenet",
        filename="parsing_parsenet.pth",
        url="https://github.com/xinntao/facexlib/releases/download/v0.2.2/parsing_parsenet.pth",
        sha256=None,
        description="facexlib ParseNet (PSFR-GAN) face parsing, CelebAMask-HQ 19 classes",
    ),
    WeightSpec(
        name="vgg16",
        filename="vgg16-397923af.pth",
        url="https://download.pytorch.org/models/vgg16-397923af.pth",
        # torchvision names its files after the first hex digits of their sha256.
        sha256="397923af",
        description="VGG16 ImageNet (torchvision), SC-FEGAN perceptual/style losses",
    ),
):
    register(_spec_)


def home() -> Path:
    """facedata's cache root: ``$FACEDATA_HOME`` or ``~/.cache/facedata``."""
    return Path(os.environ.get("FACEDATA_HOME") or Path.home() / ".cache" / "facedata")


def cache_dir() -> Path:
    """Directory holding the weight files."""
    return home() / "weights"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _spec(name: str) -> WeightSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise MissingWeightsError(
            f"unknown weight {name!r}; known weights: {known} (or pass a file path)"
        ) from None


def _missing_message(spec: WeightSpec, reason: str) -> str:
    target = cache_dir() / spec.filename
    return (
        f"weights {spec.name!r} ({spec.description}) are not available: {reason}.\n"
        f"Download {spec.url} on a machine with internet access, then either\n"
        f"  facedata weights add {spec.name} /path/to/{spec.filename}\n"
        f"or copy the file to {target}"
    )


def resolve(name_or_path: str | os.PathLike, *, download: bool = True) -> Path:
    """Return the local path of a weight file, downloading it when allowed.

    Parameters
    ----------
    name_or_path : str or path
        A registered name (``"hed-bsds500"``) or the path of a weight file.
    download : bool
        Try the published URL when the file is not cached.

    Raises
    ------
    MissingWeightsError
        With the exact file to fetch and where to put it.
    """
    path = Path(name_or_path).expanduser()
    if path.suffix or os.sep in str(name_or_path) or path.exists():
        if not path.is_file():
            raise MissingWeightsError(f"weight file {path} does not exist")
        return path
    spec = _spec(str(name_or_path))
    cached = cache_dir() / spec.filename
    if cached.is_file():
        return cached
    if not download:
        raise MissingWeightsError(_missing_message(spec, f"{cached} does not exist"))
    return fetch(spec.name)


def available(name_or_path: str | os.PathLike) -> bool:
    """Whether a weight (registered name or file path) is on this machine; never downloads."""
    try:
        resolve(name_or_path, download=False)
    except MissingWeightsError:
        return False
    return True


def fetch(name: str) -> Path:
    """Download a registered weight into the cache, verifying its sha256.

    The file is written under a temporary name and renamed once verified, so an interrupted
    download never leaves a broken file behind.
    """
    from tqdm.auto import tqdm

    spec = _spec(name)
    target = cache_dir() / spec.filename
    try:
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as out, urllib.request.urlopen(spec.url, timeout=30) as resp:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=spec.filename) as bar:
                    while block := resp.read(1 << 20):
                        out.write(block)
                        bar.update(len(block))
            _check_sha(spec, tmp)
    except OSError as exc:
        raise MissingWeightsError(_missing_message(spec, f"download failed ({exc})")) from exc
    return target


def _check_sha(spec: WeightSpec, path: Path) -> None:
    if spec.sha256 is not None and not (got := sha256_file(path)).startswith(spec.sha256):
        raise MissingWeightsError(
            _missing_message(spec, f"checksum mismatch: expected {spec.sha256}, got {got}")
        )


def add(name: str, source: str | os.PathLike) -> Path:
    """Copy a weight file into the cache under its registered file name (checksum verified)."""
    spec = _spec(name)
    source = Path(source).expanduser()
    if not source.is_file():
        raise MissingWeightsError(f"{source} is not a file")
    _check_sha(spec, source)
    target = cache_dir() / spec.filename
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return target


def load_state_dict(name_or_path: str | os.PathLike, *, download: bool = True) -> dict:
    """Load a checkpoint's tensors safely (``weights_only=True``) onto the CPU.

    Raises
    ------
    MissingWeightsError
        When the file is missing or is not a readable torch checkpoint.
    """
    import torch

    path = resolve(name_or_path, download=download)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise MissingWeightsError(
            f"{path} is not a readable torch checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(state, dict):
        raise MissingWeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state
