"""The row: one model on one dataset, its records typed, and the lookups by field name."""

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

from bench.schema.base import Part, Record, hints_of, label_of
from bench.schema.measures import (
    Firmware,
    Graph,
    HostLatency,
    Identity,
    Instructions,
    Size,
    Tflm,
    TflmLatency,
)
from bench.schema.parts import StepError
from bench.schema.quality import Agreement, Boards, Detection, Seeds, VsFloat32, _ratio

REQUIRED = ("variant", "arch")


@dataclass
class Row(Part):
    """One model on one dataset: its records, typed. A step that did not run leaves its
    record with every figure None (`measured()` tells). The file holds the row flat,
    every key a field of exactly one record: `Row.of` reads it, `to_dict` writes it."""

    id: Identity
    size: Size = field(default_factory=Size)
    graph: Graph = field(default_factory=Graph)
    litert: HostLatency = field(default_factory=HostLatency)
    tflm: Tflm = field(default_factory=Tflm)
    tflm_timing: TflmLatency = field(default_factory=TflmLatency)
    instructions: Instructions = field(default_factory=Instructions)
    firmware: Firmware = field(default_factory=Firmware)
    detection: Detection = field(default_factory=Detection)
    agreement: Agreement = field(default_factory=Agreement)
    boards: Boards = field(default_factory=Boards)
    vs_float32: VsFloat32 = field(default_factory=VsFloat32)
    seeds: Seeds = field(default_factory=Seeds)

    @classmethod
    def of(cls, flat: dict) -> "Row":
        records: dict[str, Any] = {name: tp.from_dict(flat) for tp, name in ATTRIBUTE.items()}
        return cls(**records)

    @classmethod
    def from_dict(cls, data: dict) -> "Row":
        return cls.of(data)

    def to_dict(self) -> dict:
        """Identity's fields, then those of every record that holds a figure."""
        flat = self.id.to_dict()
        for record in self.records()[1:]:
            if record.measured():
                flat.update(record.to_dict())
        return flat

    def records(self) -> list[Record]:
        return [getattr(self, f.name) for f in dataclasses.fields(self)]

    def put(self, record: Record) -> None:
        """Set the record of its kind (a step's result)."""
        setattr(self, ATTRIBUTE[type(record)], record)

    def value(self, name: str) -> Any:
        """A field by its name (the report's and the gate's columns are schema names)."""
        return getattr(self.holding(name), name)

    def holding(self, name: str) -> Record:
        """The record that holds the field `name`."""
        record: Record = getattr(self, ATTRIBUTE[record_of(name)])
        return record

    @property
    def key(self) -> tuple[str | None, str, str]:
        """What identifies a row in a results file: (dataset, arch, variant)."""
        return self.id.dataset, self.id.arch, self.id.variant

    @property
    def label(self) -> str:
        return label_of(self.id.arch, self.id.variant)

    @property
    def arch(self) -> str:
        return self.id.arch

    @property
    def variant(self) -> str:
        return self.id.variant

    def against(self, ref: "Row | None", target: Any = None) -> VsFloat32:
        """This row against float32 of its arch and dataset (`ref`; None: none ran);
        `target`, the recipe's `F1Target` or None, gives `f1_target_met`."""
        ref = ref or Row(Identity())
        f1, ref_f1 = self.detection.point_f1, ref.detection.point_f1
        delta = None if f1 is None or ref_f1 is None else f1 - ref_f1
        return VsFloat32(
            point_f1_delta_vs_float32=delta,
            point_f1_ratio_vs_float32=_ratio(f1, ref_f1),
            size_ratio_vs_float32=_ratio(self.size.size_bytes, ref.size.size_bytes),
            params_ratio_vs_float32=_ratio(self.size.params, ref.size.params),
            f1_target_met=None if target is None or delta is None else target.met(f1, ref_f1),
        )

    def fail(self, error: StepError) -> None:
        """Record why `error.stage` produced nothing, beside the row's other errors."""
        self.id.errors = {**(self.id.errors or {}), error.stage: error}


# Which attribute of a Row holds each record, and the records in the row's order: the
# one list of records, derived from `Row`.
ATTRIBUTE: dict[type[Record], str] = {tp: name for name, tp in typing.get_type_hints(Row).items()}
RECORDS: tuple[type[Record], ...] = tuple(ATTRIBUTE)


def _fields() -> dict[str, tuple[type[Record], dataclasses.Field]]:
    found: dict[str, tuple[type[Record], dataclasses.Field]] = {}
    for record in RECORDS:
        for f in dataclasses.fields(record):  # type: ignore[arg-type]
            if f.name in found:
                raise TypeError(f"row field {f.name!r} is declared twice")
            found[f.name] = (record, f)
    return found


FIELDS = _fields()


def info(name: str) -> dict:
    """A row field's metadata: unit, doc, label, fmt, best, gate, allowance, samples."""
    return dict(FIELDS[name][1].metadata)


def record_of(name: str) -> type[Record]:
    return FIELDS[name][0]


def column(name: str) -> tuple[str, str, str, str | None]:
    """(header, key, format, best) of a report column."""
    meta = FIELDS[name][1].metadata
    return meta["label"] or name, name, meta["fmt"], meta["best"]


def gated() -> list[str]:
    """The fields the gate checks against a baseline, in schema order."""
    return [name for name, (_, f) in FIELDS.items() if f.metadata["gate"]]


def scalar_fields(*records: type[Record]) -> list[str]:
    """Fields holding one number, string or flag (for `benchmark.extra_info`)."""
    scalars = (int, float, str, bool, type(None))
    names = []
    for record in records:
        hints = hints_of(record)
        for f in dataclasses.fields(record):  # type: ignore[arg-type]
            args = typing.get_args(hints[f.name]) or (hints[f.name],)
            if all(a in scalars for a in args):
                names.append(f.name)
    return names
