"""Estimated latency, energy, battery life and fit of a model on the catalog's boards.

cycles = invoke overhead + per operator (fixed cost + cycles per MAC of its class, or per
element for the rest), with cycles per MAC per board, kernel library and data type from
published measurements (see `bench/targets.toml`); latency = cycles / clock; energy =
latency x active power; battery life at a given inference rate, asleep in between,
never beyond the battery's shelf life. Estimates, not board runs.
"""

from dataclasses import dataclass

from bench.schema import BoardEstimate, Boards
from bench.targets import (
    BENCHMARKS,
    CLASSES,
    Basis,
    Board,
    Catalog,
    Kernels,
    Work,
    complete,
    cycles,
    fit,
)

KERNELS = {
    "optimized": "optimized kernels (CMSIS-NN or the vendor's)",
    "tflm-cmsis-nn": "TFLM with CMSIS-NN kernels",
    "tflm-mvp": "TFLM with the MVP accelerator's kernels",
    "cmsis-nn-m0": "CMSIS-NN for Cortex-M0+ (uncalibrated)",
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
        uj = ms * board.active_mw
        fits, why = fit_on(model, board, catalog.defaults)
        days = battery_days(uj, ms, board, catalog.defaults)
        out[board.key] = BoardEstimate(
            dtype=dtype,
            est_latency_ms=ms,
            est_energy_uj=uj,
            est_battery_days=days,
            fits=fits,
            fit_reason=why,
            calibrated=calibrated(model.work, dtype, board),
            est_cycles=ms * board.clock_mhz * 1000.0,
            kernels=KERNELS.get(board.library, board.library),
            battery_capped=days >= catalog.defaults["battery_shelf_years"] * 365.25,
        )
    return Boards(boards=out)


def calibration(catalog: Catalog, counted: dict[str, Work]) -> list[dict]:
    """The estimator applied to each calibration model (`counted`: its work as counted from
    the flatbuffer built here), beside each published row: in sample (fitted on every row)
    and leave-one-out (fitted without the row; a benchmark left without rows on its board
    then takes the other benchmark's cycles per MAC: an out-of-sample transfer)."""
    rows = []
    for ref in catalog.calibration:
        board, dtype = catalog.boards[ref["board"]], ref.get("dtype", "int8")
        bench = ref.get("benchmark", "ad")
        basis = Basis(catalog.calibration, {b: catalog.work(b) for b in BENCHMARKS}, catalog.fixed)
        kernels = Kernels(ref["board"], board.clock_mhz, ref["library"])
        ms = cycles(counted[bench], complete(fit(basis, kernels, dtype), None), catalog.fixed) / (
            board.clock_mhz * 1000.0
        )
        held = fit(basis, kernels, dtype, leave_out=ref)
        loo = None
        if any(held.values()):
            loo = (
                cycles(counted[bench], complete(held, None), catalog.fixed)
                / (board.clock_mhz * 1000.0)
                / ref["ms"]
                - 1.0
            )
        row = {
            "board": ref["board"],
            "benchmark": bench,
            "software": ref.get("software", ref["library"]),
            "library": ref["library"],
            "dtype": dtype,
            "published_ms": ref["ms"],
            "est_ms": ms,
            "error_ms": ms / ref["ms"] - 1.0,
            "loo_error_ms": loo,
        }
        if "uj" in ref:
            uj = ms * board.active_mw
            row.update(published_uj=ref["uj"], est_uj=uj, error_uj=uj / ref["uj"] - 1.0)
        rows.append(row)
    return rows
