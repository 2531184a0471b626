"""What every record is made of: names, the version, `metric` fields and `Record`."""

import dataclasses
import re
import types
import typing
from dataclasses import field
from typing import Annotated, Any, ClassVar, Self

SCHEMA_VERSION = 6


# What an `arch` or `variant` may be: it becomes part of file names (plots, models, the
# export's folder) and of markdown, so no separators, dots, spaces or markup.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,99}")


# Free text read from a file (a dataset's name, messages): no control characters.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_name(text: str) -> str:
    """A file's stem as a row name: every character `NAME` refuses becomes `_`."""
    name = re.sub(r"[^A-Za-z0-9_+-]", "_", text)[:100]
    return name if NAME.fullmatch(name) else f"m{name}"[:100]


GATING = ("gate", "allowance", "samples", "breakdown")


def metric(
    unit: str = "",
    doc: str = "",
    label: str = "",
    fmt: str = "{}",
    best: str | None = None,
    **gating: str,
) -> Any:
    """A field with its unit and how it is shown and gated.

    best: "min" or "max" (bold in report tables). `gating`: gate: "max" (must not grow),
    "min" (must not fall), "true" (must stay true) or "timing" (statistical, over
    `samples`); allowance: the `gate.Tolerances` field that loosens it (a `_ratio` of the
    baseline); breakdown: the field whose parts a failure names (instructions per
    operator)."""
    if set(gating) - set(GATING):
        raise TypeError(f"metric() takes no {', '.join(sorted(set(gating) - set(GATING)))}")
    meta = {"unit": unit, "doc": doc, "label": label, "fmt": fmt, "best": best}
    return field(default=None, metadata=meta | {k: gating.get(k) for k in GATING})


class Record:
    """A metric family: a dataclass whose fields are row keys."""

    DEPENDS_ON: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, row: dict) -> Self:
        """The record of a flat row, its nested values typed (`Layer`, `BoardEstimate`...)."""
        hints = hints_of(cls)
        return cls(
            **{f.name: _typed(hints[f.name], row.get(f.name)) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        )

    def figures(self) -> dict[str, Any]:
        """The fields that hold a value: what a partial record measured."""
        return {k: v for k, v in self.to_dict().items() if v is not None}

    @classmethod
    def merged(cls, *parts: "Record", **more: Any) -> Self:
        """One record from partial ones, each filling the fields it measured, and `more`."""
        values: dict[str, Any] = {}
        for part in parts:
            values |= part.figures()
        return cls.from_dict(values | more)

    def measured(self) -> bool:
        """Whether any figure of the record is there (a step that did not run: none)."""
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self))  # type: ignore[arg-type]


class Bounds(dict):
    """JSON Schema keywords that bound a type: `Annotated[int, Bounds(minimum=0)]`
    (hashable, as `typing` needs of what annotates a member of a union)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return id(self)


# Types with their bounds, for the parts of the file around the rows.
Text = Annotated[str, Bounds(maxLength=300)]  # free text read back from a file
Count = Annotated[int, Bounds(minimum=0)]
Positive = Annotated[float, Bounds(exclusiveMinimum=0)]
NonNegative = Annotated[float, Bounds(minimum=0)]


class Part:
    """A typed part of the results file around the rows (a dataclass): built from the
    validated JSON, written back with an optional field left empty left out."""

    @classmethod
    def from_dict(cls, data: dict) -> Self:
        return _built(cls, data)

    def to_dict(self) -> dict:
        return {
            f.name: _plain(value)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if (value := getattr(self, f.name)) is not None or f.default is not None
        }


def _typed(tp: Any, value: Any) -> Any:
    """JSON data as the annotation `tp` says: dataclasses built, through lists, maps and
    optionals (the file was validated against the same annotations)."""
    if value is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _typed(inner[0], value) if len(inner) == 1 else value
    if origin is list and isinstance(value, list):
        return [_typed(args[0], v) for v in value]
    if origin is dict and isinstance(value, dict):
        return {k: _typed(args[1], v) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Part) and isinstance(value, dict):
        return tp.from_dict(value)  # the row's own reading (`Row.of`) among them
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return _built(tp, value)
    return value


def _built(tp: Any, value: dict) -> Any:
    """The dataclass `tp` from JSON data, each field typed."""
    hints = typing.get_type_hints(tp)
    return tp(**{k: _typed(hints[k], v) for k, v in value.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, Part):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def label_of(arch: str, variant: str) -> str:
    """`arch/variant`: how a row is named in tables, messages and findings."""
    return f"{arch}/{variant}"


def hints_of(cls: type) -> dict:
    """A record's fields and their types."""
    return typing.get_type_hints(cls)
