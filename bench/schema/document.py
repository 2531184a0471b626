"""The JSON Schema of a results file, derived from `Results`, its parts and the records
of a row: their types, the bounds their annotations and units give, and no other key."""

import dataclasses
import types
import typing
from typing import Any

from bench.schema.base import SCHEMA_VERSION
from bench.schema.file import Results
from bench.schema.row import RECORDS, REQUIRED, Row

SCALARS: dict[Any, dict] = {
    type(None): {"type": "null"},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    Any: {},
}


def _json_type(tp: Any) -> dict:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:  # a type with its bounds
        return {**_json_type(args[0]), **args[1]}
    if tp is Row:
        return row_schema()
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_json_type(a) for a in args]}
    if tp in SCALARS:
        return dict(SCALARS[tp])
    if origin is list:
        return {"type": "array", "items": _json_type(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _json_type(args[1])}
    if dataclasses.is_dataclass(tp):
        return _object(tp)  # type: ignore[arg-type]
    raise TypeError(f"no JSON Schema for {tp!r}")


# Units whose figures cannot be negative, and the ratios that are shares (0 to 1): a
# results file holding `arena_bytes: -16` or `point_f1: 7.5` is refused on reading.
NONNEGATIVE = {"bytes", "count", "instructions", "points", "s", "us", "windows/s"}


NOT_SHARES = ("ratio_vs", "delta", "ci95", "_std")


def bounds(name: str, unit: str) -> dict:
    """The JSON Schema bounds of a numeric field."""
    if unit == "ratio" and not any(part in name for part in NOT_SHARES):
        return {"minimum": 0, "maximum": 1}
    if name == "instructions":  # an invoke runs some
        return {"minimum": 1}
    if unit in NONNEGATIVE or unit.startswith("per ") or name.endswith(UNSIGNED):
        return {"minimum": 0}
    if "rank_correlation" in name:
        return {"minimum": -1, "maximum": 1}
    if name.startswith("nab_score") and "delta" not in name:  # 100 is a perfect detector
        return {"minimum": -NAB_FLOOR, "maximum": 100 + 1e-6}
    return {}


UNSIGNED = ("_bytes", "_instructions", "_abs_diff")  # sizes, counts, distances by name


NAB_FLOOR = 1e9  # no NAB score of a results file edgebench wrote is this low


def _bounded(prop: dict, limits: dict) -> dict:
    """`prop` with `limits` on each of its numbers (through unions, lists and maps)."""
    if prop.get("type") in ("number", "integer"):
        return {**prop, **limits}
    if "anyOf" in prop:
        prop = {**prop, "anyOf": [_bounded(p, limits) for p in prop["anyOf"]]}
    if isinstance(prop.get("items"), dict):  # not into maps: "(interpreter)" can be < 0
        prop = {**prop, "items": _bounded(prop["items"], limits)}
    return prop


def _object(cls: type, required: tuple[str, ...] | None = None) -> dict:
    hints = typing.get_type_hints(cls, include_extras=True)
    props = {}
    for f in dataclasses.fields(cls):
        prop = _bounded(_json_type(hints[f.name]), bounds(f.name, f.metadata.get("unit", "")))
        meta = f.metadata
        text = "; ".join(
            t for t in (meta.get("doc"), meta.get("unit") and f"unit: {meta['unit']}") if t
        )
        if text:
            prop["description"] = text
        props[f.name] = prop
    # a field with a default may be left out
    names = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    return {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "required": list(required if required is not None else names),
    }


def record_schema(cls: type) -> dict:
    """The JSON Schema of one record (a dataclass): its types, bounds and no other key."""
    return _object(cls)


def row_schema() -> dict:
    props: dict = {}
    for record in RECORDS:
        props.update(_object(record)["properties"])
    return {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "required": list(REQUIRED),
        # what TFLM runs, it ran in a measured arena
        "if": {"properties": {"tflm_deployable": {"const": True}}, "required": ["tflm_deployable"]},
        "then": {"properties": {"arena_bytes": {"type": "integer", "minimum": 1}}},
    }


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a results file of this schema version."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"edgebench-results-v{SCHEMA_VERSION}",
        "title": "edgebench results",
        **_object(Results),
    }
