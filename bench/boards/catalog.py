"""The MCU catalog (`catalog.toml` beside this file): loaded, checked, and fitted.

A board's cycles per MAC, per operator class (dense, conv), come from the published
results of its core that ran CMSIS-NN's kernels on the CPU (pooled over the core's
boards); a core without any takes the catalog's stated figure, else the other cores'
fit, uncalibrated. Each fit carries a 90 % interval from its leave-one-out errors
(`bench.boards.spread`). Active power comes from the board's published CPU rows when it has
any; otherwise the board states it and lists it as uncalibrated. The estimator's fixed
costs are the [estimator] priors.
"""

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from bench import UsageError, files, unknown
from bench.boards.spread import Spread, geomean, held_out, known, pooled
from bench.schema import BoardInfo, Layer

CATALOG = Path(__file__).with_name("catalog.toml")
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


CMSIS_NN = "cmsis-nn"  # the kernels edgebench's firmware runs: the only rows fitted
# the catalog's `core` -> the emulated core, whose published rows pool into one fit
EMULATED = {
    "Cortex-M4F": "cortex-m4+fp",
    "Cortex-M33": "cortex-m33+fp",
    "Cortex-M33 + MVP": "cortex-m33+fp",
    "Cortex-M7": "cortex-m7+fp",
    "Cortex-M0+": "cortex-m0plus",
}


def family(core: str) -> str:
    """The fit a board's core joins: its emulated core, else its own name."""
    return EMULATED.get(core, core)


@dataclass(frozen=True)
class Published:
    """One published result: what ran where, how fast, and whether the fits may use it."""

    board: str
    benchmark: str  # ad | kws
    kernels: str  # cmsis-nn, or the vendor's software / accelerator
    software: str
    ms: float
    source: str
    dtype: str = "int8"
    uj: float | None = None
    left_out: str | None = None  # why a CMSIS-NN row stays out of the fits

    def not_fitted(self) -> str | None:
        """Why the fits do not use this row, or None."""
        if self.kernels != CMSIS_NN:
            return f"{self.software} is not CMSIS-NN on the CPU: a published reference, never a fit"
        if self.dtype != "int8":
            return "a float32 model"
        return self.left_out


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
    latency_basis: str = ""  # what the cycles per MAC rest on, in words
    spread: Spread | None = None  # the 90 % interval of its MAC estimates

    def info(self) -> BoardInfo:
        """The board as the results file records it: what the report reads of it."""
        return BoardInfo.from_dict({f.name: getattr(self, f.name) for f in fields(BoardInfo)})


@dataclass(frozen=True)
class Catalog:
    boards: dict[str, Board]
    defaults: dict
    fixed: dict
    published: list[Published]
    models: dict[str, dict]  # benchmark -> the reference model and its work
    path: str
    basis: "Basis | None" = None  # what the MAC fits rest on, as `load` built it

    def select(self, names: Iterable[str]) -> list[Board]:
        if not names:
            return list(self.boards.values())
        for name in names:
            if name not in self.boards:
                raise unknown("board", name, self.boards)
        return [self.boards[n] for n in names]

    def work(self, benchmark: str) -> Work:
        return Work(*(int(self.models[benchmark][k]) for k in WORK))

    def fitted(self) -> list[Published]:
        return [r for r in self.published if r.not_fitted() is None]


@dataclass(frozen=True)
class Basis:
    """What the MAC fits rest on: the rows, each board's clock and core, the reference
    models' work and the fixed costs."""

    rows: list[Published]
    clocks: dict[str, float]
    cores: dict[str, str]  # board -> its family
    models: dict[str, Work]
    fixed: dict

    def of_family(self, name: str) -> list[Published]:
        return [r for r in self.rows if self.cores[r.board] == name]


def fit(basis: Basis, rows: list[Published]) -> dict[str, float | None]:
    """Cycles per MAC per class from `rows`: dense from the AD rows, conv from the KWS
    rows after their dense part and fixed costs (geometric means). None: no row."""
    per_mac: dict[str, float | None] = {}
    for bench, op_class in BENCHMARKS.items():
        work, values = basis.models[bench], []
        for r in (r for r in rows if r.benchmark == bench):
            spent = r.ms * basis.clocks[r.board] * 1000.0 - fixed_cycles(work, basis.fixed)
            other = "conv" if op_class == "dense" else "dense"
            spent -= (per_mac.get(other) or 0.0) * work.macs(other)
            if spent > 0:
                values.append(spent / work.macs(op_class))
        per_mac[op_class] = geomean(values) if values else None
    return per_mac


def complete(per_mac: dict[str, float | None], fallback: float | None) -> dict[str, float]:
    """A class without its own rows takes the other class's figure (then `fallback`)."""
    found = [v for v in per_mac.values() if v is not None]
    default = found[0] if found else fallback
    if default is None:
        raise ValueError("no figure to complete the cycles per MAC with")
    return {c: per_mac.get(c) or default for c in CLASSES}


def predicted_ms(basis: Basis, row: Published, rows: list[Published], work: Work) -> float | None:
    """`row`'s latency as the fit of `rows` predicts it for `work`; None: nothing to fit."""
    per_mac = fit(basis, rows)
    if not any(per_mac.values()):
        return None
    return cycles(work, complete(per_mac, None), basis.fixed) / (basis.clocks[row.board] * 1000.0)


def mac_errors(basis: Basis, rows: list[Published], apart: str | None = None) -> list[float]:
    """Each row's leave-one-out error under the MAC fit, predicted from its core's other
    rows (`apart`: "board": from its core's other boards; "core": from the other cores)."""

    def predict(row: Published, rest: list[Published]) -> float | None:
        return predicted_ms(basis, row, rest, basis.models[row.benchmark])

    def core(row: Published) -> str:
        return basis.cores[row.board]

    if apart == "core":
        return known(held_out(rows, predict, lambda r: r.ms, core))
    board = (lambda r: r.board) if apart == "board" else None
    return pooled(rows, predict, lambda r: r.ms, core, board)


@dataclass(frozen=True)
class Fitted:
    """A board's cycles per MAC for int8, whether they are calibrated, on what, and the
    interval their leave-one-out errors give."""

    per_mac: dict[str, float | None]
    calibrated: bool
    basis: str
    spread: Spread | None = None


def fit_board(basis: Basis, key: str, stated: float | None) -> Fitted:
    """The int8 fit of a board: its core's rows pooled over boards (the interval from the
    leave-one-out errors of every core's rows, or, when it has no row of its own, from
    predicting each board from its core's others); else the catalog's stated figure (no
    interval); else the other cores' rows, uncalibrated."""
    core = basis.cores[key]
    mine = basis.of_family(core)
    if mine:
        own = any(r.board == key for r in mine)
        errors = mac_errors(basis, basis.rows, None if own else "board")
        said = "its core's CMSIS-NN results" + ("" if own else " on other boards")
        return Fitted(fit(basis, mine), True, said, Spread.of(errors))
    if stated is not None:
        return Fitted({c: stated for c in CLASSES}, False, "the catalog's stated figure")
    said = f"the other cores' CMSIS-NN results, none on {core}"
    return Fitted(
        fit(basis, basis.rows), False, said, Spread.of(mac_errors(basis, basis.rows, "core"))
    )


def _positive(where: str, field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UsageError(f"{where}: field {field!r} must be a positive number, not {value!r}")
    return value


def _board(key: str, entry: dict, basis: Basis, published: list[Published], where: str) -> Board:
    where = f"{where}: board {key!r}"
    for name in REQUIRED:
        if name not in entry:
            raise UsageError(f"{where}: field {name!r} is missing")
    documented = {**entry.get("sources", {}), **entry.get("uncalibrated", {})}
    for name in NUMBERS:
        if name in entry:
            _positive(where, name, entry[name])
            if name not in documented:
                raise UsageError(
                    f"{where}: field {name!r} has no entry in sources or "
                    "uncalibrated; say where the figure comes from"
                )
    int8 = fit_board(basis, key, entry.get("cycles_per_mac_int8"))
    power = [r.uj / r.ms for r in published if r.board == key and r.uj and r.kernels != "mvp"]
    need = {
        "cycles_per_mac_int8": any(int8.per_mac.values()),
        "active_mw": power,
        "float32_factor": False,
    }
    for name, derived in need.items():
        if not derived and name not in entry:
            raise UsageError(f"{where}: field {name!r} is missing and no published row gives it")
    per_int8 = complete(int8.per_mac, entry.get("cycles_per_mac_int8"))
    factor = entry["float32_factor"]
    calibrated = {
        f"{d} {c}": d == "int8" and int8.calibrated for d in ("int8", "float32") for c in CLASSES
    }
    calibrated.update(active_mw=bool(power), sleep_uw=False)
    return Board(
        key,
        entry["name"],
        entry["core"],
        entry["clock_mhz"],
        int(entry["flash_bytes"]),
        int(entry["sram_bytes"]),
        geomean(power) if power else entry["active_mw"],
        entry["sleep_uw"],
        entry["library"],
        {"int8": per_int8, "float32": {c: v * factor for c, v in per_int8.items()}},
        calibrated,
        dict(entry.get("uncalibrated", {})),
        int8.basis,
        int8.spread,
    )


RENAMED = {  # an older catalog's table: what it is now called, and what else to change
    "calibration": "[[calibration]] is now [[published]], and each row says which kernels "
    'ran: kernels = "cmsis-nn" (on the CPU), or the vendor\'s software',
    "calibration_models": "[calibration_models.*] is now [reference_models.*]; rename the "
    "tables, their fields are the same",
}


def _check_sections(table: dict, where: str) -> None:
    for old, said in RENAMED.items():
        if old in table:
            raise UsageError(f"{where}: {said}")
    for section in ("defaults", "estimator", "boards", "reference_models"):
        if not isinstance(table.get(section), dict):
            raise UsageError(f"{where}: section [{section}] is missing")
    for section, names in (("defaults", DEFAULTS), ("estimator", FIXED)):
        for name in names:
            if name not in table[section]:
                raise UsageError(f"{where}: [{section}] field {name!r} is missing")
            _positive(f"{where}: [{section}]", name, table[section][name])


def _work(specs: dict, bench: str, where: str) -> Work:
    """A reference model's work as the catalog states it, checked."""
    spec = specs.get(bench)
    if not isinstance(spec, dict):
        raise UsageError(f"{where}: [reference_models.{bench}] is missing")
    for name in WORK:
        if not isinstance(spec.get(name), int) or spec[name] < 0:
            raise UsageError(
                f"{where}: [reference_models.{bench}] field {name!r} must be a count >= 0"
            )
    return Work(*(spec[k] for k in WORK))


TEXTS = ("board", "kernels", "software", "source")


def _published(row: dict, at: str, boards: dict) -> Published:
    """One published result, checked: board, kernels, software, ms and source, on a known
    benchmark."""
    for name in (*TEXTS, "ms"):
        if name not in row:
            raise UsageError(f"{at}: field {name!r} is missing")
    for name in (*TEXTS, "left_out"):
        if name in row and not isinstance(row[name], str):
            raise UsageError(f"{at}: field {name!r} must be text")
    if row["board"] not in boards:
        raise UsageError(f"{at}: unknown board {row['board']!r}")
    bench = row.get("benchmark", "ad")
    if bench not in BENCHMARKS:
        raise UsageError(f"{at}: benchmark {bench!r} is not one of {', '.join(BENCHMARKS)}")
    extra = sorted(set(row) - {*TEXTS, "ms", "uj", "benchmark", "dtype", "left_out"})
    if extra:
        raise UsageError(f"{at}: unknown field {extra[0]!r}")
    return Published(
        row["board"],
        bench,
        row["kernels"],
        row["software"],
        _positive(at, "ms", row["ms"]),
        row["source"],
        row.get("dtype", "int8"),
        _positive(at, "uj", row["uj"]) if "uj" in row else None,
        row.get("left_out"),
    )


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
    defaults, fixed, entries = table["defaults"], table["estimator"], table["boards"]
    models = {bench: _work(table["reference_models"], bench, where) for bench in BENCHMARKS}
    published = [
        _published(row, f"{where}: [[published]] row {i + 1}", entries)
        for i, row in enumerate(table.get("published", []))
    ]
    for key, entry in entries.items():
        for name in ("core", "clock_mhz"):
            if name not in entry:
                raise UsageError(f"{where}: board {key!r}: field {name!r} is missing")
        _positive(f"{where}: board {key!r}", "clock_mhz", entry["clock_mhz"])
    basis = Basis(
        [r for r in published if r.not_fitted() is None],
        {k: e["clock_mhz"] for k, e in entries.items()},
        {k: family(str(e["core"])) for k, e in entries.items()},
        models,
        fixed,
    )
    boards = {key: _board(key, entry, basis, published, where) for key, entry in entries.items()}
    return Catalog(boards, defaults, fixed, published, table["reference_models"], where, basis)
