"""The MCU catalog (`targets.toml` beside this file): loaded, checked, and calibrated.

A board's cycles per MAC (per data type, for its kernel library) and its active power
are derived from the published measurements in the catalog's [[calibration]] rows
when it has any; otherwise the board states them and lists them as uncalibrated.
"""

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench import UsageError

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
)


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
    cycles_per_mac: dict  # "int8" / "float32" -> cycles per MAC
    calibrated: dict  # figure -> True when derived from published measurements
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
    calibration: list[dict]
    model: dict
    path: str

    def select(self, names) -> list[Board]:
        if not names:
            return list(self.boards.values())
        for name in names:
            if name not in self.boards:
                raise UsageError(
                    f"unknown board {name!r}; choose from "
                    f"{', '.join(self.boards)} (catalog {self.path})"
                )
        return [self.boards[n] for n in names]


def cycles_per_mac(ms: float, clock_mhz: float, macs: int) -> float:
    return ms * clock_mhz * 1000.0 / macs


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def fitted_cycles_per_mac(
    rows: list[dict],
    board: str,
    clock_mhz: float,
    library: str,
    dtype: str,
    macs: int,
    leave_out: dict | None = None,
) -> float | None:
    """Geometric mean of the cycles/MAC of a board's rows for one library and data type;
    `leave_out` drops one row (for a leave-one-out check). None when no row is left."""
    values = [
        cycles_per_mac(r["ms"], clock_mhz, macs)
        for r in rows
        if r["board"] == board
        and r["library"] == library
        and r.get("dtype", "int8") == dtype
        and r is not leave_out
    ]
    return _geomean(values) if values else None


def _positive(where: str, field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UsageError(f"{where}: field {field!r} must be a positive number, not {value!r}")
    return value


def _board(key: str, entry: dict, rows: list[dict], macs: int, where: str) -> Board:
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
    int8, fp32 = (
        fitted_cycles_per_mac(rows, key, clock, library, dtype, macs)
        for dtype in ("int8", "float32")
    )
    power = [r["uj"] / r["ms"] for r in rows if r["board"] == key and "uj" in r]
    need = {"cycles_per_mac_int8": int8, "active_mw": power, "float32_factor": fp32}
    for field, derived in need.items():
        if not derived and field not in entry:
            raise UsageError(f"{where}: field {field!r} is missing and no calibration row gives it")
    cpm8 = int8 or entry["cycles_per_mac_int8"]
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
        {"int8": cpm8, "float32": fp32 or cpm8 * entry["float32_factor"]},
        {
            "cycles_per_mac_int8": int8 is not None,
            "cycles_per_mac_float32": fp32 is not None,
            "active_mw": bool(power),
            "sleep_uw": False,
        },
        dict(entry.get("uncalibrated", {})),
    )


def load(path: Path | None = None) -> Catalog:
    """Read and check a catalog; every problem is one UsageError naming file and field."""
    path = Path(path) if path is not None else CATALOG
    try:
        table = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such target catalog") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise UsageError(f"{path}: not a readable TOML catalog ({err})") from None
    where = str(path)
    for section in ("defaults", "boards", "calibration_model"):
        if section not in table:
            raise UsageError(f"{where}: section [{section}] is missing")
    defaults = table["defaults"]
    for field in DEFAULTS:
        if field not in defaults:
            raise UsageError(f"{where}: [defaults] field {field!r} is missing")
        _positive(f"{where}: [defaults]", field, defaults[field])
    macs = int(
        _positive(f"{where}: [calibration_model]", "macs", table["calibration_model"].get("macs"))
    )
    rows = table.get("calibration", [])
    for i, row in enumerate(rows):
        at = f"{where}: [[calibration]] row {i + 1}"
        for field in ("board", "library", "ms", "source"):
            if field not in row:
                raise UsageError(f"{at}: field {field!r} is missing")
        if row["board"] not in table["boards"]:
            raise UsageError(f"{at}: unknown board {row['board']!r}")
        _positive(at, "ms", row["ms"])
        if "uj" in row:
            _positive(at, "uj", row["uj"])
    boards = {key: _board(key, entry, rows, macs, where) for key, entry in table["boards"].items()}
    return Catalog(boards, defaults, rows, table["calibration_model"], where)
