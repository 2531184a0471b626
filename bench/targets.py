"""The MCU catalog (`targets.toml` beside this file): loaded, checked, and calibrated.

A board's cycles per MAC, per data type and operator class (dense, conv) for its kernel
library, and its active power are derived from the published measurements in the
catalog's [[calibration]] rows when it has any; otherwise the board states them and
lists them as uncalibrated. The estimator's fixed costs are the [estimator] priors.
"""

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench import UsageError, files, unknown
from bench.schema import Layer

CATALOG = Path(__file__).with_name("targets.toml")
REQUIRED = ("name", "core", "clock_mhz", "flash_bytes", "sram_bytes", "sleep_uw", "library")
NUMBERS = (
    "clock_mhz",
    "flash_bytes",
    "sram_bytes",
    "sleep_uw",
    "active_mw",
    "cycles_per_mac_int8",
    "float32_factor",
)
DEFAULTS = (
    "runtime_flash_bytes",
    "runtime_sram_bytes",
    "battery_mah",
    "battery_volts",
    "inferences_per_second",
    "battery_shelf_years",
)
FIXED = ("invoke_cycles", "op_cycles", "element_cycles")
WORK = ("dense_macs", "conv_macs", "elements", "ops")
CLASSES = ("dense", "conv")
BENCHMARKS = {"ad": "dense", "kws": "conv"}  # the class each benchmark's rows calibrate


@dataclass(frozen=True)
class Work:
    """What one inference does, for the estimator: MACs per class, other elements, ops."""

    dense_macs: int
    conv_macs: int
    elements: int
    ops: int

    @classmethod
    def of_layers(cls, layers: list[Layer]) -> "Work":
        from bench.graph import MAC_OPS

        macs = {c: sum(la.macs for la in layers if MAC_OPS.get(la.op) == c) for c in CLASSES}
        elements = sum(la.macs for la in layers if la.op not in MAC_OPS)
        return cls(macs["dense"], macs["conv"], elements, len(layers))

    def macs(self, op_class: str) -> int:
        return self.dense_macs if op_class == "dense" else self.conv_macs


def fixed_cycles(work: Work, fixed: dict) -> float:
    return (
        fixed["invoke_cycles"]
        + fixed["op_cycles"] * work.ops
        + fixed["element_cycles"] * work.elements
    )


def cycles(work: Work, per_mac: dict[str, float], fixed: dict) -> float:
    """Cycles of one inference: fixed costs + cycles per MAC of each class."""
    return fixed_cycles(work, fixed) + sum(per_mac[c] * work.macs(c) for c in CLASSES)


@dataclass(frozen=True)
class Board:
    key: str
    name: str
    core: str
    clock_mhz: float
    flash_bytes: int
    sram_bytes: int
    active_mw: float
    sleep_uw: float
    library: str
    cycles_per_mac: dict  # "int8" / "float32" -> {"dense": c, "conv": c}
    calibrated: dict  # "int8 dense", ..., "active_mw" -> derived from published rows?
    basis: dict  # uncalibrated figure -> why this value

    def as_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "name",
                "core",
                "clock_mhz",
                "flash_bytes",
                "sram_bytes",
                "active_mw",
                "sleep_uw",
                "library",
                "cycles_per_mac",
                "calibrated",
            )
        }


@dataclass(frozen=True)
class Catalog:
    boards: dict[str, Board]
    defaults: dict
    fixed: dict
    calibration: list[dict]
    models: dict[str, dict]  # benchmark -> the calibration model and its work
    path: str

    def select(self, names: Iterable[str]) -> list[Board]:
        if not names:
            return list(self.boards.values())
        for name in names:
            if name not in self.boards:
                raise unknown("board", name, self.boards)
        return [self.boards[n] for n in names]

    def work(self, benchmark: str) -> Work:
        return Work(*(int(self.models[benchmark][k]) for k in WORK))


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


@dataclass(frozen=True)
class Basis:
    """What boards are fitted on: the published rows, the calibration models' work and
    the fixed costs."""

    rows: list[dict]
    models: dict[str, Work]
    fixed: dict


@dataclass(frozen=True)
class Kernels:
    """One board's kernels as a published row names them: board key, clock, library."""

    board: str
    clock_mhz: float
    library: str


def fit(
    basis: Basis, on: Kernels, dtype: str, leave_out: dict | None = None
) -> dict[str, float | None]:
    """Cycles per MAC per class from one board's rows for one library and data type:
    dense from its AD rows, conv from its KWS rows after their dense part and fixed costs
    (geometric means). `leave_out` drops one row. A class without rows is None."""
    mine = [
        r
        for r in basis.rows
        if r["board"] == on.board
        and r["library"] == on.library
        and r.get("dtype", "int8") == dtype
        and r is not leave_out
    ]
    models, fixed, clock_mhz = basis.models, basis.fixed, on.clock_mhz
    per_mac: dict[str, float | None] = {}
    for bench, op_class in BENCHMARKS.items():
        work, values = models[bench], []
        for r in (r for r in mine if r.get("benchmark", "ad") == bench):
            spent = r["ms"] * clock_mhz * 1000.0 - fixed_cycles(work, fixed)
            other = "conv" if op_class == "dense" else "dense"
            spent -= (per_mac.get(other) or 0.0) * work.macs(other)
            if spent > 0:
                values.append(spent / work.macs(op_class))
        per_mac[op_class] = _geomean(values) if values else None
    return per_mac


def complete(per_mac: dict[str, float | None], fallback: float | None) -> dict[str, float]:
    """A class without its own rows takes the other class's figure (then `fallback`)."""
    known = [v for v in per_mac.values() if v is not None]
    default = known[0] if known else fallback
    if default is None:
        raise ValueError("no figure to complete the cycles per MAC with")
    return {c: per_mac.get(c) or default for c in CLASSES}


def _positive(where: str, field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UsageError(f"{where}: field {field!r} must be a positive number, not {value!r}")
    return value


def _board(key: str, entry: dict, basis: Basis, where: str) -> Board:
    where = f"{where}: board {key!r}"
    for field in REQUIRED:
        if field not in entry:
            raise UsageError(f"{where}: field {field!r} is missing")
    documented = {**entry.get("sources", {}), **entry.get("uncalibrated", {})}
    for field in NUMBERS:
        if field in entry:
            _positive(where, field, entry[field])
            if field not in documented:
                raise UsageError(
                    f"{where}: field {field!r} has no entry in sources or "
                    "uncalibrated; say where the figure comes from"
                )
    clock, library = entry["clock_mhz"], entry["library"]
    kernels = Kernels(key, clock, library)
    int8, fp32 = fit(basis, kernels, "int8"), fit(basis, kernels, "float32")
    power = [r["uj"] / r["ms"] for r in basis.rows if r["board"] == key and "uj" in r]
    need = {
        "cycles_per_mac_int8": any(int8.values()),
        "active_mw": power,
        "float32_factor": any(fp32.values()),
    }
    for field, derived in need.items():
        if not derived and field not in entry:
            raise UsageError(f"{where}: field {field!r} is missing and no calibration row gives it")
    per_int8 = complete(int8, entry.get("cycles_per_mac_int8"))
    factor = entry.get("float32_factor", 1.0)
    per_fp32 = (
        complete(fp32, None) if any(fp32.values()) else {c: v * factor for c, v in per_int8.items()}
    )
    calibrated = {
        f"{d} {c}": bool(fitted[c])
        for d, fitted in (("int8", int8), ("float32", fp32))
        for c in CLASSES
    }
    calibrated.update(active_mw=bool(power), sleep_uw=False)
    return Board(
        key,
        entry["name"],
        entry["core"],
        clock,
        int(entry["flash_bytes"]),
        int(entry["sram_bytes"]),
        _geomean(power) if power else entry["active_mw"],
        entry["sleep_uw"],
        library,
        {"int8": per_int8, "float32": per_fp32},
        calibrated,
        dict(entry.get("uncalibrated", {})),
    )


def _check_sections(table: dict, where: str) -> None:
    for section in ("defaults", "estimator", "boards", "calibration_models"):
        if not isinstance(table.get(section), dict):
            raise UsageError(f"{where}: section [{section}] is missing")
    for section, names in (("defaults", DEFAULTS), ("estimator", FIXED)):
        for field in names:
            if field not in table[section]:
                raise UsageError(f"{where}: [{section}] field {field!r} is missing")
            _positive(f"{where}: [{section}]", field, table[section][field])


def _work(specs: dict, bench: str, where: str) -> Work:
    """A calibration model's work as the catalog states it, checked."""
    spec = specs.get(bench)
    if not isinstance(spec, dict):
        raise UsageError(f"{where}: [calibration_models.{bench}] is missing")
    for field in WORK:
        if not isinstance(spec.get(field), int) or spec[field] < 0:
            raise UsageError(
                f"{where}: [calibration_models.{bench}] field {field!r} must be a count >= 0"
            )
    return Work(*(spec[k] for k in WORK))


def _check_calibration(row: dict, at: str, boards: dict) -> None:
    """One published measurement: board, library, ms and source, on a known benchmark."""
    for field in ("board", "library", "ms", "source"):
        if field not in row:
            raise UsageError(f"{at}: field {field!r} is missing")
    if row["board"] not in boards:
        raise UsageError(f"{at}: unknown board {row['board']!r}")
    if row.get("benchmark", "ad") not in BENCHMARKS:
        raise UsageError(
            f"{at}: benchmark {row['benchmark']!r} is not one of {', '.join(BENCHMARKS)}"
        )
    _positive(at, "ms", row["ms"])
    if "uj" in row:
        _positive(at, "uj", row["uj"])


def load(path: Path | None = None) -> Catalog:
    """Read and check a catalog; every problem is one UsageError naming file and field."""
    path = Path(path) if path is not None else CATALOG
    text = files.read_text(path, "target catalog")
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: not a readable TOML catalog ({err})") from None
    where = str(path)
    _check_sections(table, where)
    defaults, fixed = table["defaults"], table["estimator"]
    models = {bench: _work(table["calibration_models"], bench, where) for bench in BENCHMARKS}
    rows = table.get("calibration", [])
    for i, row in enumerate(rows):
        _check_calibration(row, f"{where}: [[calibration]] row {i + 1}", table["boards"])
    boards = {
        key: _board(key, entry, Basis(rows, models, fixed), where)
        for key, entry in table["boards"].items()
    }
    return Catalog(boards, defaults, fixed, rows, table["calibration_models"], where)
