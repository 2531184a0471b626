"""Estimated latency, energy, battery life and fit of a model on the catalog's boards.

latency = MACs x cycles-per-MAC (board, data type) / clock; energy = latency x active
power; battery life at a given inference rate, sleeping between inferences. These are
estimates from public measurements (see `bench/targets.toml`), not board runs.
"""

from dataclasses import dataclass

from bench.schema import BoardEstimate, Boards
from bench.targets import Board, Catalog, fitted_cycles_per_mac


@dataclass(frozen=True)
class Footprint:
    """What the estimates need of a model, from the size, graph and TFLM steps."""

    macs: int
    float_compute_ops: dict
    size_bytes: int
    tflm_deployable: bool
    arena_bytes: int | None
    io_elements: int  # input + output elements: the application's float buffers


def model_dtype(float_compute_ops: dict) -> str:
    """The kernels a model needs: int8 when no operator touches a float tensor."""
    return "float32" if float_compute_ops else "int8"


def latency_ms(macs: int, dtype: str, board: Board) -> float:
    return macs * board.cycles_per_mac[dtype] / (board.clock_mhz * 1000.0)


def battery_days(energy_uj: float, latency: float, board: Board, defaults: dict) -> float:
    """Days on the battery: one inference every 1/rate s, asleep the rest of the time."""
    rate = defaults["inferences_per_second"]
    capacity_j = defaults["battery_mah"] * 3.6 * defaults["battery_volts"]
    busy = min(1.0, latency / 1000.0 * rate)
    watts = energy_uj * 1e-6 * rate + board.sleep_uw * 1e-6 * (1.0 - busy)
    return capacity_j / watts / 86_400.0


def fit(model: Footprint, board: Board, defaults: dict) -> tuple[bool, str]:
    """Flash: model + runtime code. SRAM: arena + the app's float I/O buffers + runtime."""
    if not model.tflm_deployable or model.arena_bytes is None:
        return False, "TFLite Micro cannot run it"
    flash = model.size_bytes + defaults["runtime_flash_bytes"]
    sram = model.arena_bytes + 4 * model.io_elements + defaults["runtime_sram_bytes"]
    reasons = []
    if flash > board.flash_bytes:
        reasons.append(f"flash {flash:,} > {board.flash_bytes:,} B")
    if sram > board.sram_bytes:
        reasons.append(f"SRAM {sram:,} > {board.sram_bytes:,} B")
    return not reasons, "; ".join(reasons)


def estimate(model: Footprint, catalog: Catalog, boards: list[Board]) -> Boards:
    """Per board: est_latency_ms, est_energy_uj, est_battery_days, fits (and why not)."""
    dtype = model_dtype(model.float_compute_ops)
    out = {}
    for board in boards:
        ms = latency_ms(model.macs, dtype, board)
        uj = ms * board.active_mw
        fits, why = fit(model, board, catalog.defaults)
        out[board.key] = BoardEstimate(
            dtype=dtype,
            est_latency_ms=ms,
            est_energy_uj=uj,
            est_battery_days=battery_days(uj, ms, board, catalog.defaults),
            fits=fits,
            fit_reason=why,
            calibrated=board.calibrated[f"cycles_per_mac_{dtype}"]
            and board.calibrated["active_mw"],
        )
    return Boards(boards=out)


def calibration(catalog: Catalog, macs: int) -> list[dict]:
    """The estimator applied to the calibration model (`macs` as counted from the built
    flatbuffer), beside each published row. Where several rows share one constant, a
    leave-one-out estimate (the constant fitted without the row) checks it out of sample."""
    rows, ref_macs = [], catalog.model["macs"]
    for ref in catalog.calibration:
        board, dtype = catalog.boards[ref["board"]], ref.get("dtype", "int8")
        args = (catalog.calibration, ref["board"], board.clock_mhz, ref["library"], dtype, ref_macs)
        cpm = fitted_cycles_per_mac(*args)
        if cpm is None:  # cannot happen: every row calibrates its own constant
            continue
        ms = macs * cpm / (board.clock_mhz * 1000.0)
        held_out = fitted_cycles_per_mac(*args, leave_out=ref)
        row = {
            "board": ref["board"],
            "software": ref.get("software", ref["library"]),
            "library": ref["library"],
            "dtype": dtype,
            "published_ms": ref["ms"],
            "est_ms": ms,
            "error_ms": ms / ref["ms"] - 1.0,
            "loo_error_ms": None
            if held_out is None
            else macs * held_out / (board.clock_mhz * 1000.0) / ref["ms"] - 1.0,
        }
        if "uj" in ref:
            uj = ms * board.active_mw
            row.update(published_uj=ref["uj"], est_uj=uj, error_uj=uj / ref["uj"] - 1.0)
        rows.append(row)
    return rows
