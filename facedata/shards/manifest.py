"""The manifest's own checksum, so that an edited ``manifest.json`` is caught."""

from __future__ import annotations

import hashlib
import json

#: The manifest key that holds :func:`checksum` of the rest of the manifest.
CHECKSUM = "checksum"


def checksum(manifest: dict) -> str:
    """sha256 of the manifest without its ``checksum`` entry, as canonical JSON.

    ``build.out`` (where the build was written) is left out: a copied or moved build is
    still the same build.

    Examples
    --------
    >>> checksum({"a": 1}) == checksum({"a": 1, "checksum": "anything"})
    True
    """
    body = {k: v for k, v in manifest.items() if k != CHECKSUM}
    if isinstance(body.get("build"), dict):
        body["build"] = {k: v for k, v in body["build"].items() if k != "out"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
