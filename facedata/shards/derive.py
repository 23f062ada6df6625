"""Derived fields: fields a build may leave out of its shards, because readers compute them.

A field whose :class:`~facedata.shards.fields.FieldSpec` carries a
:class:`~facedata.shards.fields.Derivation` is a pure function of other fields of the same
sample (``face.png`` and ``hair.png`` of ``parsing.png``, ``hog.png`` of ``hog.npy``). A build
computes such a field from its sources when it writes it, so a stored derived field always
equals its derivation (``verify`` checks it), and with ``--no-store-derived`` it leaves it
out; the manifest lists the fields left out as ``derived_fields``. Every facedata reader puts
them back through :class:`Deriver`, bit-identical to the stored version: as arrays in decoded
samples, and encoded exactly as the writer encodes them in raw ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import CorruptShardError, FacedataError
from .codec import decode, encode
from .fields import FieldSpec, manifest_of_shards, manifest_specs


def unstored(specs: Iterable[FieldSpec], emitted: Iterable[str]) -> tuple[str, ...]:
    """The derived fields a build may leave out: those whose every source it stores.

    Parameters
    ----------
    specs : iterable of FieldSpec
        The fields of the build, in execution order.
    emitted : iterable of str
        The fields it would store with derived fields kept.

    Examples
    --------
    >>> from facedata.shards.fields import Derivation
    >>> face = FieldSpec("face.png", "binary", derive=Derivation(("parsing.png",), "m:f"))
    >>> unstored([face], ["face.png", "parsing.png"]), unstored([face], ["face.png"])
    (('face.png',), ())
    """
    kept = set(emitted)
    left_out: list[str] = []
    for spec in specs:
        if spec.derive is not None and spec.name in kept:
            if all(s in kept and s not in left_out for s in spec.derive.sources):
                left_out.append(spec.name)
    return tuple(left_out)


def readable_fields(manifest: dict) -> list[str]:
    """Every field a reader gets from a build: those it stored and those it left out to be
    derived, sorted."""
    return sorted([*manifest["fields"], *manifest.get("derived_fields", ())])


class Deriver:
    """Adds a build's left-out derived fields to the samples read from its shards.

    Parameters
    ----------
    specs : mapping
        Field name → spec, from the build's manifest.
    size : int
        The build's ``--size``.
    missing : iterable of str
        The fields the build left out (its manifest's ``derived_fields``).

    A sample holds decoded arrays or raw bytes (``iter_shard(decoded=False)``); a raw sample
    gets the derived field's bytes as the writer would have encoded them.
    """

    def __init__(self, specs: Mapping[str, FieldSpec], size: int, missing: Iterable[str]):
        self.specs = [specs[name] for name in missing]
        self.size = size

    @classmethod
    def of_manifest(cls, manifest: dict) -> Deriver:
        """The deriver of a build (one that adds nothing for a build that stored all)."""
        missing = manifest.get("derived_fields") or ()
        if not missing:  # also a manifest of another tool, or of an older facedata
            return cls({}, 0, ())
        return cls(manifest_specs(manifest), manifest["build"]["size"], missing)

    @classmethod
    def of_shards(cls, urls: Sequence[str | os.PathLike]) -> Deriver:
        """The deriver of the build a list of shards belongs to (one that adds nothing when
        they lie in no build: shards copied out of one hold every field they have)."""
        manifest = manifest_of_shards(urls)
        return cls.of_manifest(manifest or {})

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields it adds."""
        return tuple(spec.name for spec in self.specs)

    def sources(self, fields: Iterable[str]) -> tuple[str, ...]:
        """The fields that the added ones among ``fields`` are computed from."""
        wanted = set(fields)
        return tuple(dict.fromkeys(
            s for spec in self.specs if spec.name in wanted for s in spec.derive.sources
        ))  # fmt: skip

    def __bool__(self) -> bool:
        return bool(self.specs)

    def __call__(self, sample: dict[str, Any], wanted: Iterable[str] | None = None) -> dict:
        """Add the missing fields (only those in ``wanted``, when given) to ``sample``.

        Raises
        ------
        CorruptShardError
            When a source field is missing or does not decode, naming the sample.
        """
        wanted = None if wanted is None else set(wanted)
        key = sample.get("__key__")
        decoded: dict[str, Any] = {}
        for spec in self.specs:
            if spec.name in sample or (wanted is not None and spec.name not in wanted):
                continue
            raw = False
            for source in spec.derive.sources:
                if source not in sample:
                    raise CorruptShardError(
                        f"sample {key!r} has no {source}, from which {spec.name} is derived"
                    )
                raw = raw or isinstance(sample[source], bytes)
                if source not in decoded:
                    value = sample[source]
                    decoded[source] = decode(source, value) if isinstance(value, bytes) else value
            try:
                value = spec.derive.compute(decoded, size=self.size)
            except FacedataError:
                raise
            except Exception as exc:  # a source that decodes but is not what its spec says
                raise CorruptShardError(
                    f"sample {key!r}: {spec.name} cannot be derived from "
                    f"{', '.join(spec.derive.sources)} ({type(exc).__name__}: {exc})"
                ) from exc
            sample[spec.name] = encode(spec.name, value) if raw else value
        return sample
