"""The JSON Schema of a results file, from the records and the parts around the rows."""

import dataclasses
import types
import typing
from typing import Any

from bench.data.windows import SCALINGS
from bench.schema.base import SCHEMA_VERSION, hints_of
from bench.schema.row import RECORDS, REQUIRED

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
    hints = hints_of(cls)
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


MAX_ROWS = 5_000  # a default run has 45; more is not a results file edgebench wrote


_INTS = {"type": "array", "items": {"type": "integer", "minimum": 0}}


TRACE = {  # per arch: the test points' end index, label, series, and the series' names
    "type": "object",
    "required": ["end", "y", "series", "names"],
    "properties": {
        "end": _INTS,
        "y": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 1}},
        "series": _INTS,
        "names": {"type": "array", "items": {"type": "string"}},
    },
}


_NUMBER = {"type": "number", "minimum": 0}


BOARD = {  # a board of the catalog as the run saw it: what the report reads of it
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "core": {"type": "string"},
        "clock_mhz": _NUMBER,
        "flash_bytes": {"type": "integer", "minimum": 0},
        "sram_bytes": {"type": "integer", "minimum": 0},
        "active_mw": _NUMBER,
        "sleep_uw": _NUMBER,
        "library": {"type": "string"},
    },
}


def _strict(required: list[str], props: dict, optional: dict | None = None) -> dict:
    """An object of `props` (all required) and `optional`, and no other key."""
    return {
        "type": "object",
        "required": required,
        "properties": {**props, **(optional or {})},
        "additionalProperties": False,
    }


MAX_CHANNELS = 4096  # far beyond any series a window model reads


_TEXT = {"type": "string", "maxLength": 300}


_MS = {"type": "number", "exclusiveMinimum": 0}


_SIGNED = {"type": "number"}


_OPT_NUMBER = {"anyOf": [_SIGNED, {"type": "null"}]}


_NONNEGATIVE = {"type": "number", "minimum": 0}


_VALUES = {"type": "array", "items": _SIGNED, "minItems": 1, "maxItems": MAX_CHANNELS}


SCALING = _strict(  # one series' scaling, as the firmware applies it
    ["series", "kind", "log", "shift", "scale"],
    {
        "series": _TEXT,
        "kind": {"enum": list(SCALINGS)},
        "log": {"type": "boolean"},
        "shift": _VALUES,
        "scale": {**_VALUES, "items": {"type": "number", "exclusiveMinimum": 0}},
    },
    {"input_low": _VALUES, "input_high": _VALUES},
)


_CAL_ROW = _strict(  # a published result, fitted
    ["board", "software", "published_ms", "est_ms", "error_ms", "loo_error_ms"],
    {
        "board": _TEXT,
        "software": _TEXT,
        "published_ms": _MS,
        "est_ms": _MS,
        "error_ms": _SIGNED,
        "loo_error_ms": _OPT_NUMBER,
    },
    {
        "benchmark": _TEXT,  # written since schema 5; the files before fitted AD alone
        "library": _TEXT,  # before the fits took only CMSIS-NN rows
        "kernels": _TEXT,
        "why": _TEXT,  # why the fits do not use the row
        "dtype": _TEXT,
        "published_uj": _MS,
        "est_uj": _MS,
        "error_uj": _OPT_NUMBER,
    },
)


_FW_ROW = _strict(
    ["benchmark", "software", "published_ms", "instructions", "est_ms", "error_ms", "loo_error_ms"],
    {
        "benchmark": _TEXT,
        "software": _TEXT,
        "published_ms": _MS,
        "instructions": {"type": "integer", "minimum": 1},
        "est_ms": _MS,
        "error_ms": _SIGNED,
        "loo_error_ms": _OPT_NUMBER,
    },
)


_REFERENCE = _strict(  # a published row the fit does not use, and why
    ["benchmark", "software", "published_ms", "why"],
    {"benchmark": _TEXT, "software": _TEXT, "published_ms": _MS, "why": _TEXT},
)


_FACTOR = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]}


_FW_FIT = _strict(  # a board's cycles per instruction, fitted on its core's firmware rows
    ["board", "core", "cpi", "rows", "note"],
    {
        "board": _TEXT,
        "core": _TEXT,
        "cpi": {"anyOf": [_MS, {"type": "null"}]},
        "rows": {"type": "array", "items": _FW_ROW},
        "note": _TEXT,
    },
    {  # since the fits took only CMSIS-NN rows, with an interval
        "low": _FACTOR,
        "high": _FACTOR,
        "basis": _TEXT,
        "calibrated": {"type": "boolean"},
        "references": {"type": "array", "items": _REFERENCE},
    },
)


_COUNT = {"type": "integer", "minimum": 0}


_REF_MODEL = {  # a reference model the published results ran, as built and counted here
    "type": "object",
    "required": ["name", "macs_counted", "macs_published", "ops"],
    "properties": {
        "name": _TEXT,
        "macs_counted": _COUNT,
        "macs_published": _COUNT,
        "ops": {"type": "object", "additionalProperties": _COUNT},
        "tflm_instructions": {"anyOf": [_COUNT, {"type": "null"}]},
        "firmware_instructions": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1},
        },
    },
}


CALIBRATION = {
    "type": "object",
    "properties": {
        "models": {"type": "object", "additionalProperties": _REF_MODEL},
        "catalog": {"type": "string"},
        "fixed_cycles": {
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": 0},
        },
        "rows": {"type": "array", "items": _CAL_ROW},
        "firmware": {"type": "object", "additionalProperties": _FW_FIT},
        "firmware_check": _strict(["inside", "rows"], {"inside": _COUNT, "rows": _COUNT}),
    },  # and what files before the reference models held: model, macs_counted, ...
}


_TEXTS = {"type": "array", "items": _TEXT}


_OPT_TEXT = {"anyOf": [_TEXT, {"type": "null"}]}


DATASET = {  # what the run measured on, as the report reads it (older files: fewer keys)
    "type": "object",
    "properties": {
        "name": _OPT_TEXT,
        "protocol": _OPT_TEXT,
        "channels": _TEXTS,
        "series": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": _TEXT} | {k: _COUNT for k in ("points", "train_end")},
            },
        },
        "points": _COUNT,
        "anomalous_points": _COUNT,
        "warnings": _TEXTS,
        "leaderboard": {
            "type": "object",
            "properties": {
                "metric": _TEXT,
                "source": _TEXT,
                "compare": _TEXT,
                "figures": {
                    "type": "object",
                    "additionalProperties": {"type": ["number", "string"]},
                },
            },
        },
    },
}


_SEEDED = {
    "type": "object",
    "required": ["seed"],
    "properties": {"seed": {"type": "integer", "minimum": 0}},
}


CONFIG = {  # what the user asked for: the parts the report and the gate read, typed
    "type": "object",
    "properties": {
        "threshold": _TEXT,
        "stream": _SEEDED,
        "train": _SEEDED,
        "constraints": {"type": "object"},
        "archs": _TEXTS,
        "variants": _TEXTS,
    },
}


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a results file of this schema version."""
    obj, text = {"type": "object"}, {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"edgebench-results-v{SCHEMA_VERSION}",
        "title": "edgebench results",
        "type": "object",
        "required": ["schema_version", "created", "machine", "config", "rows"],
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "created": text,
            "command": text,
            "code_version": text,
            "machine": {
                "type": "object",
                "required": ["fingerprint", "packages"],
                "properties": {"fingerprint": text, "packages": obj},
            },
            "config": CONFIG,
            "dataset": DATASET,
            "project": obj,
            "stages_s": {"type": "object", "additionalProperties": {"type": "number"}},
            "rows": {"type": "array", "items": row_schema(), "maxItems": MAX_ROWS},
            "traces": {"type": "object", "additionalProperties": TRACE},
            "baselines": obj,
            "scaling": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": SCALING, "maxItems": 10_000},
            },
            "boards": {"type": "object", "additionalProperties": BOARD},
            "estimate_defaults": {"type": "object", "additionalProperties": _NONNEGATIVE},
            "calibration": CALIBRATION,
        },
        "additionalProperties": False,
    }
