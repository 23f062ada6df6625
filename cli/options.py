"""Typer options generated from config dataclasses: one flag per field.

The flag of a field is ``--<prefix><field>`` in kebab case (``HogConfig.cell`` of the ``hog``
stage is ``--hog-cell``) unless its :func:`facedata.options.option` metadata names another;
fields of a nested config dataclass are flattened under the same prefix
(``ColorConfig.smoothing.factor`` is ``--color-factor``). The default is the field's, the
help text its entry in the ``Attributes`` section of its class's docstring (or of a base
class's). A field added to a config is therefore an option with no edit here.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

from .common import split_list


@dataclass(frozen=True)
class Flag:
    """One generated option: where its value goes and how it is read."""

    param: str  # the Python parameter name Typer passes it under
    path: tuple[str, ...]  # field names from the root config down
    decls: tuple[str, ...]  # flag names, primary first
    annotation: Any  # the type Typer parses
    default: Any
    help: str
    parse: Callable[[Any], Any]  # command-line value → field value


@dataclass(frozen=True)
class Extra:
    """A flag that sets other fields: a group (several at once) or a switch (one value)."""

    param: str
    decls: tuple[str, ...]
    annotation: Any
    help: str
    targets: tuple[Flag, ...]
    value: Any = None  # the switch's value


def kebab(name: str) -> str:
    return name.replace("_", "-")


def attribute_help(cls: type) -> dict[str, str]:
    """Field name → the one-paragraph description in the class's (or a base's) docstring.

    Entries naming several fields (``min_coverage, max_coverage : float``) give each the
    same text; an entry that only points elsewhere ("See …") is left to the next base.
    """
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        doc = inspect.getdoc(klass) or ""
        match = re.search(r"^Attributes\n-+\n(.*?)(?:\n\n[A-Z][a-z ]+\n-+\n|\Z)", doc, re.M | re.S)
        if not match:
            continue
        for names, text in re.findall(r"^(\w[\w, ]*?)(?: : [^\n]*)?\n((?:    [^\n]*\n?)+)",
                                      match.group(1), re.M):  # fmt: skip
            text = " ".join(line.strip() for line in text.splitlines())
            if text.startswith("See "):
                continue
            for name in names.split(","):
                found[name.strip()] = plain(text)
    return found


def plain(text: str) -> str:
    """Docstring markup → terminal text (``x`` → x, :class:`~a.B` → B)."""
    text = re.sub(r":\w+:`~?(?:[\w.]+\.)?([^`]+)`", r"\1", text)
    return text.replace("``", "")


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` → ``(X, True)``; anything else → ``(annotation, False)``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _sequence_parser(items: tuple[type, ...] | type, flag: str) -> Callable[[str], tuple]:
    """A parser of ``"a,b,c"``: into any number of ``items`` (one type), or into exactly one
    value per type of a tuple of types."""

    def parse(text: str) -> tuple:
        parts = split_list(text)
        kinds = items if isinstance(items, tuple) else (items,) * len(parts)
        try:
            if len(parts) != len(kinds):
                raise ValueError
            return tuple(kind(v) for kind, v in zip(kinds, parts))
        except ValueError:
            raise typer.BadParameter(
                f"expected {len(kinds)} comma-separated values, got {text!r}", param_hint=flag
            ) from None

    return parse


def _tuple_items(annotation: Any) -> tuple[type, ...] | type:
    """``tuple[int, ...]`` → ``int``; ``tuple[float, float]`` → ``(float, float)``."""
    args = typing.get_args(annotation)
    return args[0] if len(args) == 2 and args[1] is Ellipsis else tuple(args)


class ConfigOptions:
    """The options of one config dataclass (a build's, the source's or one stage's).

    Parameters
    ----------
    cls : type
        The config dataclass.
    prefix : str
        Flag prefix of its fields (``"hog-"``; ``""`` for the build and source configs).
    group : str
        A name unique among the command's configs (prefix of the parameter names).
    """

    def __init__(self, cls: type, *, prefix: str, group: str):
        self.cls = cls
        self.flags: list[Flag] = []
        self.extras: list[Extra] = []
        self._collect(cls, (), prefix, f"{group}__")

    def _collect(self, cls: type, path: tuple[str, ...], prefix: str, param: str) -> None:
        hints = typing.get_type_hints(cls)
        helps = attribute_help(cls)
        groups: dict[str, list[Flag]] = {}
        for field in dataclasses.fields(cls):
            meta = field.metadata
            if not meta.get("cli", True) or not field.init:
                continue
            annotation, optional = _unwrap(hints[field.name])
            default = field.default if field.default is not dataclasses.MISSING else ...
            if dataclasses.is_dataclass(annotation):
                self._collect(annotation, (*path, field.name), prefix, f"{param}{field.name}__")
                continue
            primary = meta.get("flag") or f"--{prefix}{kebab(field.name)}"
            flag = self._flag(
                f"{param}{field.name}", (*path, field.name), primary, meta.get("aliases", ()),
                annotation, optional, default, helps.get(field.name, ""),
            )  # fmt: skip
            self.flags.append(flag)
            if meta.get("group"):
                groups.setdefault(meta["group"], []).append(flag)
            if meta.get("switch"):
                decl, value = meta["switch"]
                self.extras.append(
                    Extra(f"{flag.param}__switch", (decl,), bool,
                          f"Set {primary} to {value} (off: its own value).", (flag,), value)
                )  # fmt: skip
        for decl, targets in groups.items():
            names = ", ".join(t.decls[0] for t in targets)
            self.extras.append(
                Extra(f"{param}{kebab(decl).strip('-').replace('-', '_')}", (decl,), str | None,
                      f"{names} as comma-separated values.", tuple(targets))
            )  # fmt: skip

    @staticmethod
    def _flag(param, path, primary, aliases, annotation, optional, default, help_text) -> Flag:
        if annotation is bool:
            decl = primary if "/" in primary else f"{primary}/--no-{primary[2:]}"
            return Flag(param, path, (decl, *aliases), bool, default, help_text, lambda v: v)
        if typing.get_origin(annotation) is tuple:
            parse = _sequence_parser(_tuple_items(annotation), primary)
            shown = default if default in (None, ...) else ",".join(map(str, default))
            return Flag(param, path, (primary, *aliases), str | None if optional else str,
                        shown, help_text, lambda v: v if v is None else parse(v))  # fmt: skip
        kind = annotation | None if optional else annotation
        return Flag(param, path, (primary, *aliases), kind, default, help_text, lambda v: v)

    def parameters(self) -> list[inspect.Parameter]:
        """Keyword parameters for a Typer command function, one per flag."""
        params = [
            parameter(f.param, f.annotation, typer.Option(f.default, *f.decls, help=f.help))
            for f in self.flags
        ]
        params += [
            parameter(e.param, e.annotation, typer.Option(
                False if e.annotation is bool else None, *e.decls, help=e.help
            ))
            for e in self.extras
        ]  # fmt: skip
        return params

    def make(self, values: dict[str, Any]) -> Any:
        """The config built from the command's values (its own are taken out of ``values``)."""
        chosen = {f.path: f.parse(values.pop(f.param)) for f in self.flags}
        for extra in self.extras:
            given = values.pop(extra.param)
            if extra.annotation is bool:
                if given:
                    chosen[extra.targets[0].path] = extra.value
            elif given is not None:
                kinds = tuple(t.annotation for t in extra.targets)
                for target, item in zip(
                    extra.targets, _sequence_parser(kinds, extra.decls[0])(given)
                ):
                    chosen[target.path] = item
        return _instantiate(self.cls, (), chosen)


def parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    """A keyword-only parameter of a generated command."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)  # fmt: skip


def _instantiate(cls: type, path: tuple[str, ...], chosen: dict[tuple[str, ...], Any]) -> Any:
    """``cls`` with the chosen values, nested dataclasses built the same way."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):
        key = (*path, field.name)
        annotation, _ = _unwrap(hints[field.name])
        if key in chosen:
            kwargs[field.name] = chosen[key]
        elif dataclasses.is_dataclass(annotation) and any(k[: len(key)] == key for k in chosen):
            kwargs[field.name] = _instantiate(annotation, key, chosen)
    return cls(**kwargs)


def command(
    body: Callable[[dict[str, Any]], None], parameters: list[inspect.Parameter]
) -> Callable[..., None]:
    """A Typer command function taking ``parameters`` that calls ``body(values)``.

    Raises
    ------
    ValueError
        When two parameters share a flag name.
    """
    seen: dict[str, str] = {}
    for p in parameters:
        for decl in p.default.param_decls or ():  # an Argument declares none
            for name in decl.split("/"):
                if name in seen:
                    raise ValueError(f"flag {name} is declared by {seen[name]} and {p.name}")
                seen[name] = p.name

    def run(**values: Any) -> None:
        body(values)

    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    run.__doc__ = body.__doc__
    return run
