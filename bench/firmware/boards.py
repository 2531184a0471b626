"""Board estimates from the target's own counts.

A board's cycles per inference = its cycles per instruction (CPI) x the instructions its
core's firmware executes per invoke. Each board's CPI is fitted on its published MLPerf
Tiny results (AD: ad01, KWS: the DS-CNN), the reference models' firmware counted on the
board's core here: the geometric mean of published cycles / counted instructions over
the rows it uses. The rows are the board's TFLM + CMSIS-NN submissions where it has any,
else all of its rows (other stacks: the fit then stands for that software's speed).
In-sample and leave-one-out errors come with every row; a board with one row has no
leave-one-out figure."""

import math
from dataclasses import dataclass, field, replace

from bench.energy import battery_days, fits_memory
from bench.schema import BoardEstimate, Row
from bench.targets import Board, Catalog

TFLM_CMSIS = "tflm-cmsis-nn"
# the catalog's `core` -> the emulated core, and what the emulation leaves out
CORE_OF = {
    "Cortex-M4F": ("cortex-m4+fp", None),
    "Cortex-M33": ("cortex-m33+fp", None),
    "Cortex-M33 + MVP": ("cortex-m33+fp", "its MVP matrix accelerator is not emulated"),
    "Cortex-M7": ("cortex-m7+fp", None),
    "Cortex-M0+": ("cortex-m0plus", None),
}


def core_of(board: Board) -> str | None:
    found = CORE_OF.get(board.core)
    return found[0] if found else None


def no_core(board: Board) -> str:
    return f"no emulator for {board.core}"


@dataclass
class BoardFit:
    """One board's cycles per instruction and the rows behind it."""

    board: str
    core: str
    cpi: float | None
    rows: list[dict] = field(default_factory=list)  # each used row, with its errors
    note: str = ""


def fit(cat: Catalog, counts: dict[str, dict[str, int]]) -> dict[str, BoardFit]:
    """Board key -> its fit. `counts`: benchmark -> core -> instructions per invoke of the
    reference model's firmware."""
    fits = {}
    for key, board in cat.boards.items():
        core = core_of(board)
        if core is None:
            continue
        refs = [
            r for r in cat.calibration if r["board"] == key and r.get("dtype", "int8") == "int8"
        ]
        refs = [r for r in refs if counts.get(r.get("benchmark", "ad"), {}).get(core)]
        tflm = [r for r in refs if r["library"] == TFLM_CMSIS]
        used = tflm or refs
        note = CORE_OF[board.core][1] or ""
        if used and not tflm:
            note = "; ".join(
                filter(None, [note, "no TFLM + CMSIS-NN submission: fitted on other stacks"])
            )
        rows = [_row(r, used, board, counts, core) for r in used]
        fits[key] = BoardFit(key, core, _cpi(used, board, counts, core), rows, note)
    return fits


def _cycles(ref: dict, board: Board) -> float:
    return ref["ms"] * board.clock_mhz * 1000.0


def _cpi(used: list[dict], board: Board, counts: dict, core: str) -> float | None:
    """Geometric mean of published cycles over counted instructions."""
    ratios = [_cycles(r, board) / counts[r.get("benchmark", "ad")][core] for r in used]
    return math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None


def _row(ref: dict, used: list[dict], board: Board, counts: dict, core: str) -> dict:
    bench = ref.get("benchmark", "ad")
    instructions = counts[bench][core]
    cpi = _cpi(used, board, counts, core) or 0.0
    held = _cpi([r for r in used if r is not ref], board, counts, core)
    ms = cpi * instructions / (board.clock_mhz * 1000.0)
    loo = None if held is None else held * instructions / (board.clock_mhz * 1000.0)
    return {
        "benchmark": bench,
        "software": ref.get("software", ref["library"]),
        "published_ms": ref["ms"],
        "instructions": instructions,
        "est_ms": ms,
        "error_ms": ms / ref["ms"] - 1.0,
        "loo_error_ms": None if loo is None else loo / ref["ms"] - 1.0,
    }


def refine_all(rows: list[Row], chosen: list[Board], fits: dict[str, dict], cat: Catalog) -> None:
    """Every row's board estimates from its firmware (`fits`: as the results hold them)."""
    typed = {k: BoardFit(**f) for k, f in fits.items()}
    by_key = {b.key: b for b in chosen}
    for row in rows:
        if row.firmware.firmware or row.firmware.firmware_errors:
            refine(row, by_key, typed, cat)


def refine(row: Row, boards: dict[str, Board], fits: dict[str, BoardFit], cat: Catalog) -> None:
    """The row's board estimates from its firmware on each board's core: fit on measured
    flash and RAM; latency and energy from the core's instructions and the board's CPI
    where published results fit one. A firmware that fails on the core does not fit."""
    estimates = dict(row.boards.boards or {})
    for key, est in estimates.items():
        board = boards.get(key)
        if board is None:
            continue
        core = core_of(board)
        if core is None:
            estimates[key] = replace(est, basis=f"{no_core(board)}: MACs and host sizes")
            continue
        figures = row.firmware.on(core)
        if figures is None:
            error = (row.firmware.firmware_errors or {}).get(core)
            if error:
                why = f"its firmware fails on {core}: {error}"[:300]
                estimates[key] = replace(
                    est, fits=False, fit_reason=why, basis=f"firmware on {core}"
                )
            continue
        ok, why = fits_memory(figures.flash_bytes, figures.ram_bytes, board, "firmware ")
        if not figures.output_matches_host:  # what the board would compute is not what was scored
            ok, why = False, _differs(figures.output_max_abs_diff, core, why)
        basis = f"firmware on {core}"
        estimates[key] = replace(est, fits=ok, fit_reason=why, basis=basis)
        got = fits.get(key)
        if got is None or got.cpi is None:
            estimates[key].basis = f"{basis}; latency from MACs (no published result to fit)"
            continue
        estimates[key] = _timed(estimates[key], board, got.cpi * figures.instructions, cat)
    row.boards.boards = estimates


def _differs(diff: float, core: str, why: str) -> str:
    said = (
        f"its firmware's output on {core} differs from host TFLM's (max |diff| {diff:g} "
        "on a fixed input): CMSIS-NN's kernels disagree with the reference ones"
    )
    return f"{said}; {why}" if why else said


def _timed(est: BoardEstimate, board: Board, cycles: float, cat: Catalog) -> BoardEstimate:
    ms = cycles / (board.clock_mhz * 1000.0)
    uj = ms * board.active_mw
    days = battery_days(uj, ms, board, cat.defaults)
    return replace(
        est,
        est_latency_ms=ms,
        est_energy_uj=uj,
        est_battery_days=days,
        est_cycles=cycles,
        calibrated=bool(board.calibrated.get("active_mw")),  # the CPI is fitted always
        battery_capped=days >= cat.defaults["battery_shelf_years"] * 365.25,
    )
