"""Stages: the processors between a source and the shard writer.

A stage turns loaded samples into output fields. It is built once per worker from its
frozen config dataclass and a :class:`StageContext`; :meth:`Stage.setup` loads anything heavy
(networks) once; :meth:`Stage.run` processes a batch. Per-sample problems never escape a
stage: they mark the sample failed with the stage's name and a message.

Map names (``--maps``) resolve to stage classes through :func:`all_stages`: the built-in
:data:`STAGES` in their execution order, then the stages of installed plugins (entry-point
group ``facedata.stages``), then those given to :func:`register_stage`. A stage lists the
stages it ``requires``; those run too, without writing their own fields unless they were asked
for. A stage declares each field it writes once, as a
:class:`~facedata.shards.fields.FieldSpec`; everything that reads a build follows the specs.
"""

from __future__ import annotations

import importlib
import logging
import re
import traceback
from dataclasses import dataclass, is_dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar

from ..errors import ConfigError, FacedataError, RejectedError
from ..sample import Sample
from ..shards.fields import FieldSpec
from .networks import NetworkRuntime, NetworkSpec, SmoothingSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageContext:
    """What every stage knows of the build."""

    size: int
    seed: int
    device: str = "auto"
    #: How networks run: batch, precision, and the build's network processes (if any).
    networks: NetworkRuntime = NetworkRuntime()


@dataclass(frozen=True)
class NoOptions:
    """A stage without options."""


class Stage:
    """Base class of the processors.

    Class attributes
    ----------------
    name : str
        Map name used with ``--maps``.
    fields : tuple of FieldSpec
        Shard fields it writes (kept only when its map was asked for); a stage whose fields
        depend on its options overrides :meth:`field_specs` instead.
    Config : type
        Its frozen options dataclass.
    requires : tuple of str
        Map names that must run before it.
    method_schema : dict
        JSON Schema of the method it records (``meta["maps"][name]``, see :func:`record`);
        the sample-metadata schema's ``$defs/maps`` is made of these.
    meta_schema : dict
        JSON-Schema fragment of the other metadata keys it writes: ``properties`` (key →
        schema), ``required`` (the keys written whenever its map is computed), and any
        ``$defs``, ``dependentRequired`` or ``allOf`` they need;
        :func:`facedata.pipeline.schema.sample_metadata_schema` merges them.
    """

    name: ClassVar[str] = ""
    fields: ClassVar[tuple[FieldSpec, ...]] = ()
    Config: ClassVar[type] = NoOptions
    requires: ClassVar[tuple[str, ...]] = ()
    method_schema: ClassVar[dict] = {"type": "string"}
    meta_schema: ClassVar[dict] = {}

    def __init__(self, config: Any, context: StageContext):
        self.config = config
        self.context = context

    @classmethod
    def field_specs(cls, config: Any) -> tuple[FieldSpec, ...]:
        """The fields this stage writes with ``config`` (``fields`` unless options add some)."""
        return cls.fields

    @classmethod
    def output_fields(cls, config: Any) -> tuple[str, ...]:
        """The names of :meth:`field_specs`."""
        return tuple(spec.name for spec in cls.field_specs(config))

    @classmethod
    def resolve(cls, config: Any, device: str) -> Any:
        """``config`` with its ``auto`` choices made for a build on ``device`` (``--device``).

        A build passes the result to every other hook and records it in its state and
        manifest, so a resume compares what actually runs.
        """
        return config

    @classmethod
    def needs_device(cls, config: Any) -> bool:
        """Whether the stage would run torch on the build's device with ``config``.

        A build that needs no device never imports torch in the main process.
        """
        return False

    @classmethod
    def needs_landmarks(cls, config: Any) -> bool:
        """Whether the stage uses a face's 68 landmarks with ``config``, not just its eye
        centres: a build with such a stage detects landmarks on every sample, also where
        the annotations hold both eyes (see ``AlignConfig.annotated_eyes``)."""
        return False

    @classmethod
    def notice(cls, config: Any) -> str | None:
        """What the stage gives up with ``config`` on this machine (a fallback it will take),
        or ``None``; the build's main process says it once, before any work."""
        return None

    @classmethod
    def network_specs(cls, config: Any) -> tuple[NetworkSpec | SmoothingSpec, ...]:
        """The device jobs (networks, smoothing) the stage runs with ``config``; a build
        serves them from one network process per device (see
        :mod:`facedata.pipeline.network_process`)."""
        return ()

    @classmethod
    def check(cls, config: Any) -> None:
        """Fail before a build starts when ``config`` cannot work (e.g. missing weights)."""

    def setup(self) -> None:
        """Load what the stage needs (weights, tables); called once per worker."""

    def start_shard(self) -> None:
        """Forget per-shard state; called before a shard's first batch.

        A stage that looks at earlier samples (e.g. to pick a reference among them) keeps
        them only within one shard, so its output does not depend on which worker built
        which shards before.
        """

    def run(self, samples: list[Sample]) -> None:
        """Process a batch; the default calls :meth:`process` per healthy sample."""
        for sample in samples:
            if sample.ok:
                guarded(self.name, sample, self.process)

    def process(self, sample: Sample) -> None:
        """Process one sample in place."""
        raise NotImplementedError


class BatchStage(Stage):
    """A stage whose work can run on a whole batch at once (a network, a torch route).

    Subclasses implement :meth:`compute` (healthy samples → one result each) and :meth:`store`
    (put one result into its sample), and say in :meth:`batched` whether to batch at all.
    When the batched computation raises, the batch is redone one sample at a time, so one
    bad sample fails alone.
    """

    def batched(self) -> bool:
        """Whether :meth:`compute` should see the whole batch (else one sample at a time)."""
        return True

    def compute(self, samples: list[Sample]) -> list[Any]:
        """One result per sample, in order."""
        raise NotImplementedError

    def store(self, sample: Sample, result: Any) -> None:
        """Write one result into its sample's fields and metadata."""
        raise NotImplementedError

    def run(self, samples: list[Sample]) -> None:
        live = [s for s in samples if s.ok]
        if live and self.batched():
            try:
                results = self.compute(live)
            except Exception:
                log.debug("%s: batched computation failed; retrying per sample", self.name,
                          exc_info=True)  # fmt: skip
            else:
                for sample, result in zip(live, results):
                    guarded(self.name, sample, self.store, result)
                return
        super().run(live)

    def process(self, sample: Sample) -> None:
        self.store(sample, self.compute([sample])[0])


def record(sample: Sample, map_name: str, method: str) -> None:
    """Note in the metadata which method produced a map (``meta["maps"][map_name]``)."""
    sample.meta.setdefault("maps", {})[map_name] = method


def guarded(stage: str, sample: Sample, fn, *args) -> None:
    """Call ``fn(sample, *args)``; an exception marks the sample failed instead of escaping.

    Expected problems (:class:`FacedataError`) keep their message; anything else is a bug or
    a hostile input, and its type and last frame go into the failure line.
    """
    try:
        fn(sample, *args)
    except RejectedError as exc:
        sample.fail(stage, str(exc), rejected=exc.reason)
    except FacedataError as exc:
        sample.fail(stage, str(exc))
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        log.debug("stage %s failed on %s", stage, sample.key, exc_info=True)
        sample.fail(stage, f"{type(exc).__name__}: {exc} (at {where})")


#: Built-in map name → "module:Class", in execution order.
STAGES: dict[str, str] = {
    "align": "facedata.pipeline.align:AlignStage",  # native resolution, before resize
    "resize": "facedata.pipeline.maps:ResizeStage",
    "parsing": "facedata.pipeline.parsing:ParsingStage",
    "face": "facedata.pipeline.maps:FaceStage",
    "hair": "facedata.pipeline.maps:HairStage",
    "mask": "facedata.pipeline.maps:MaskStage",
    "sketch": "facedata.pipeline.sketch:SketchStage",
    "color": "facedata.pipeline.color:ColorStage",
    "hog": "facedata.pipeline.hog:HogStage",
    "components": "facedata.pipeline.editing:ComponentsStage",
    "edits": "facedata.pipeline.editing:EditsStage",
}

#: Stages that always run and are not map names a user picks.
ALWAYS = ("align", "resize")

#: Entry-point group through which installed distributions add stages.
ENTRY_POINTS = "facedata.stages"

#: Stages given to :func:`register_stage` in this process, in registration order.
_REGISTERED: dict[str, type[Stage]] = {}

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def all_stages() -> dict[str, str | type[Stage]]:
    """Map name → stage (a class, or ``"module:Class"`` imported on use), in execution order:
    the built-in stages, then installed plugins' entry points, then registered classes."""
    found: dict[str, str | type[Stage]] = dict(STAGES)
    for point in entry_points(group=ENTRY_POINTS):
        found.setdefault(point.name, point.value)
    for name, cls in _REGISTERED.items():
        found.setdefault(name, cls)
    return found


def register_stage(cls: type[Stage]) -> type[Stage]:
    """Add a stage class, so that ``--maps`` accepts its name and builds run it.

    The class's fields are then served by every reader of the builds it writes (their specs
    go into the manifest). Returns the class, so this works as a decorator.

    Raises
    ------
    ConfigError
        When ``cls`` is not a :class:`Stage` with a new lowercase name, a dataclass
        ``Config``, and fields no other stage writes.
    """
    if not (isinstance(cls, type) and issubclass(cls, Stage)):
        raise ConfigError(f"{cls!r} is not a subclass of facedata.pipeline.stages.Stage")
    if not _NAME.match(cls.name):
        raise ConfigError(
            f"stage name {cls.name!r} of {cls.__qualname__} must be lowercase letters, digits "
            "and underscores, starting with a letter"
        )
    where = f"{cls.__module__}:{cls.__qualname__}"
    taken = all_stages().get(cls.name)
    if taken == where:
        return cls  # an installed plugin's module registering itself on import
    if taken is not None and _where(taken) != where:
        raise ConfigError(f"a stage named {cls.name!r} is already registered ({taken})")
    if not is_dataclass(cls.Config):
        raise ConfigError(f"{cls.__qualname__}.Config must be a frozen dataclass")
    mine = set(cls.output_fields(cls.Config()))
    for name in all_stages():
        other = stage_class(name)
        clash = mine & set(other.output_fields(other.Config()))
        if _where(other) != where and clash:
            raise ConfigError(f"stage {name!r} already writes {', '.join(sorted(clash))}")
    _REGISTERED[cls.name] = cls
    return cls


def _where(stage: str | type) -> str:
    """``"module:Class"`` of a registry entry: a class defined again (a notebook cell run
    twice) replaces its earlier self instead of clashing with it."""
    return stage if isinstance(stage, str) else f"{stage.__module__}:{stage.__qualname__}"


def stage_class(name: str, registry: dict[str, str | type[Stage]] | None = None) -> type[Stage]:
    """The stage class registered for map ``name`` (in ``registry``, default :func:`all_stages`)."""
    stages = all_stages() if registry is None else registry
    try:
        target = stages[name]
    except KeyError:
        choices = ", ".join(n for n in stages if n not in ALWAYS)
        raise ConfigError(f"unknown map {name!r}; choose from {choices}") from None
    if isinstance(target, type):
        return target
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def resolve_maps(
    maps: tuple[str, ...], registry: dict[str, str | type[Stage]] | None = None
) -> list[tuple[str, bool]]:
    """Expand requested maps with their requirements.

    Returns
    -------
    list of (name, emit)
        Every stage to run, in execution order; ``emit`` is False for stages that run only
        because another requires them.
    """
    stages = all_stages() if registry is None else registry
    wanted = set(maps)
    needed = set(ALWAYS) | wanted
    todo = list(needed)
    while todo:
        for req in stage_class(todo.pop(), stages).requires:
            if req not in needed:
                needed.add(req)
                todo.append(req)
    return [(n, n in wanted) for n in stages if n in needed]


def default_configs(
    names: list[str], registry: dict[str, str | type[Stage]] | None = None
) -> dict[str, Any]:
    """Each stage's default config."""
    return {n: stage_class(n, registry).Config() for n in names}
