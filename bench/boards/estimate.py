"""Estimated latency, energy, battery life and fit of a model on the catalog's boards.

cycles = invoke overhead + per operator (fixed cost + cycles per MAC of its class, or per
element for the rest), with cycles per MAC per core from the published CMSIS-NN results
(see `catalog.toml`); latency = cycles / clock; energy = latency x active power;
battery life at a given inference rate, asleep in between, never beyond the battery's
shelf life. Each figure with its 90 % interval where the fit has one. Estimates, not
board runs.
"""

from dataclasses import dataclass, replace

from bench.boards.catalog import (
    CLASSES,
    Basis,
    Board,
    Catalog,
    Published,
    Work,
    cycles,
    predicted_ms,
)
from bench.boards.spread import Spread
from bench.schema import BoardEstimate, Boards, PublishedFit

KERNELS = {
    "cmsis-nn": "TFLM with CMSIS-NN kernels on the CPU",
    "esp-nn": "ESP-NN kernels (uncalibrated)",
}


@dataclass(frozen=True)
class Footprint:
    """What the estimates need of a model, from the size, graph and TFLM steps."""

    work: Work
    float_compute_ops: dict
    size_bytes: int
    tflm_deployable: bool
    arena_bytes: int | None
    io_elements: int  # input + output elements: the application's float buffers


def model_dtype(float_compute_ops: dict) -> str:
    """The kernels a model needs: int8 when no operator touches a float tensor."""
    return "float32" if float_compute_ops else "int8"


def latency_ms(work: Work, dtype: str, board: Board, fixed: dict) -> float:
    return cycles(work, board.cycles_per_mac[dtype], fixed) / (board.clock_mhz * 1000.0)


def battery_days(energy_uj: float, latency: float, board: Board, defaults: dict) -> float:
    """Days on the battery: one inference every 1/rate s, asleep the rest of the time;
    at most the battery's shelf life (self-discharge bounds any lighter load)."""
    rate = defaults["inferences_per_second"]
    capacity_j = defaults["battery_mah"] * 3.6 * defaults["battery_volts"]
    busy = min(1.0, latency / 1000.0 * rate)
    watts = energy_uj * 1e-6 * rate + board.sleep_uw * 1e-6 * (1.0 - busy)
    return min(capacity_j / watts / 86_400.0, defaults["battery_shelf_years"] * 365.25)


def fit_on(model: Footprint, board: Board, defaults: dict) -> tuple[bool, str]:
    """Flash: model + runtime code. SRAM: arena + the app's float I/O buffers + runtime."""
    if not model.tflm_deployable or model.arena_bytes is None:
        return False, "TFLite Micro cannot run it"
    flash = model.size_bytes + defaults["runtime_flash_bytes"]
    sram = model.arena_bytes + 4 * model.io_elements + defaults["runtime_sram_bytes"]
    return fits_memory(flash, sram, board)


def fits_memory(flash: int, sram: int, board: Board, whose: str = "") -> tuple[bool, str]:
    """Whether `flash` and `sram` bytes fit the board, and if not, why in words."""
    reasons = []
    if flash > board.flash_bytes:
        reasons.append(f"{whose}flash {flash:,} > {board.flash_bytes:,} B")
    if sram > board.sram_bytes:
        reasons.append(f"{whose}SRAM {sram:,} > {board.sram_bytes:,} B")
    return not reasons, "; ".join(reasons)


def calibrated(work: Work, dtype: str, board: Board) -> bool:
    """Every figure this model's estimate uses comes from published measurements."""
    used = [c for c in CLASSES if work.macs(c)]
    return board.calibrated["active_mw"] and all(board.calibrated[f"{dtype} {c}"] for c in used)


def estimate(model: Footprint, catalog: Catalog, boards: list[Board]) -> Boards:
    """Per board: est_cycles, est_latency_ms, est_energy_uj, est_battery_days, fits."""
    dtype = model_dtype(model.float_compute_ops)
    out = {}
    for board in boards:
        ms = latency_ms(model.work, dtype, board, catalog.fixed)
        fits, why = fit_on(model, board, catalog.defaults)
        est = BoardEstimate(
            dtype=dtype,
            est_latency_ms=ms,
            est_energy_uj=ms * board.active_mw,
            est_battery_days=0.0,
            fits=fits,
            fit_reason=why,
            calibrated=calibrated(model.work, dtype, board),
            kernels=KERNELS.get(board.library, board.library),
            basis=f"MACs; cycles per MAC of {board.latency_basis}",
        )
        out[board.key] = timed(est, board, ms * board.clock_mhz * 1000.0, board.spread, catalog)
    return Boards(boards=out)


def timed(
    est: BoardEstimate, board: Board, cycles: float, spread: Spread | None, cat: Catalog
) -> BoardEstimate:
    """`est` with latency, energy and battery life from `cycles` on `board`, each with
    its 90 % interval when `spread` gives one (a longer latency: more energy, fewer
    days)."""
    ms = cycles / (board.clock_mhz * 1000.0)
    low, high = spread.around(ms) if spread else (None, None)
    days = _days(ms, board, cat)
    shelf = cat.defaults["battery_shelf_years"] * 365.25
    return replace(
        est,
        est_cycles=cycles,
        est_latency_ms=ms,
        est_latency_ms_low=low,
        est_latency_ms_high=high,
        est_energy_uj=ms * board.active_mw,
        est_energy_uj_low=None if low is None else low * board.active_mw,
        est_energy_uj_high=None if high is None else high * board.active_mw,
        est_battery_days=days,
        est_battery_days_low=None if high is None else _days(high, board, cat),
        est_battery_days_high=None if low is None else _days(low, board, cat),
        battery_capped=days >= shelf,
    )


def _days(ms: float, board: Board, cat: Catalog) -> float:
    return battery_days(ms * board.active_mw, ms, board, cat.defaults)


def calibration(catalog: Catalog, counted: dict[str, Work]) -> list[PublishedFit]:
    """The MAC estimator beside each published row (`counted`: each reference model's
    work as counted from the flatbuffer built here): in sample (the board's fit) and,
    for the rows the fits use, leave-one-out (its core's fit without the row). A row the
    fits do not use says why."""
    basis = catalog.basis
    assert basis is not None  # `load` keeps it
    return [_calibration_row(ref, catalog, basis, counted) for ref in catalog.published]


def _calibration_row(ref: Published, catalog: Catalog, basis: Basis, counted: dict) -> PublishedFit:
    board = catalog.boards[ref.board]
    per_mac = board.cycles_per_mac[ref.dtype]
    ms = cycles(counted[ref.benchmark], per_mac, catalog.fixed) / (board.clock_mhz * 1000.0)
    loo = None
    if ref.not_fitted() is None:
        rest = [r for r in basis.of_family(basis.cores[ref.board]) if r is not ref]
        guess = predicted_ms(basis, ref, rest, counted[ref.benchmark]) if rest else None
        loo = None if guess is None else guess / ref.ms - 1.0
    uj = ms * board.active_mw
    return PublishedFit(
        board=ref.board,
        benchmark=ref.benchmark,
        software=ref.software,
        kernels=ref.kernels,
        dtype=ref.dtype,
        published_ms=ref.ms,
        est_ms=ms,
        error_ms=ms / ref.ms - 1.0,
        loo_error_ms=loo,
        why=ref.not_fitted() or None,
        published_uj=ref.uj or None,
        est_uj=uj if ref.uj else None,
        error_uj=uj / ref.uj - 1.0 if ref.uj else None,
    )
