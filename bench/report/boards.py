"""The boards: each variant's estimates with their intervals, the published references
beside them, and how the estimates are calibrated."""

from pathlib import Path

from tabulate import tabulate

from bench.markup import text
from bench.report.cells import counts_text, estimate, pct
from bench.schema import PublishedFit, Results, Row


def _boards(res: Results, rows: list[Row]) -> list[str]:
    return [b for b in res.boards if any(b in (r.boards.boards or {}) for r in rows)]


def board_tables(res: Results, rows: list[Row]) -> list[str]:
    """Variants x boards: estimated latency and energy, battery life or why it does not
    fit (the answer per board is the report's first table)."""
    boards = _boards(res, rows)
    if not boards:
        return []
    defaults = res.estimate_defaults
    cost, life = [], []
    for r in rows:
        est = r.boards.boards or {}
        cost.append(
            [r.variant]
            + [
                estimate(
                    est[b].est_latency_ms, est[b].est_latency_ms_low, est[b].est_latency_ms_high
                )
                + f" / {est[b].est_energy_uj:.3g}"
                + ("" if est[b].calibrated else " *")
                if b in est
                else "n/a"
                for b in boards
            ]
        )
        life.append(
            [r.variant]
            + [
                (
                    f"{est[b].est_battery_days:,.0f}"
                    + (" (shelf life)" if est[b].battery_capped else "")
                    if est[b].fits
                    else f"no: {est[b].fit_reason}"
                )
                if b in est
                else "n/a"
                for b in boards
            ]
        )
    rate = defaults.get("inferences_per_second", 1)
    battery = (
        f"{defaults.get('battery_mah', 0):g} mAh at {defaults.get('battery_volts', 0):g} V"
        if defaults
        else "the catalog's battery"
    )
    return [
        "",
        "### Target boards (estimates, not board runs)",
        "",
        "Estimated latency ms [90 % interval] / energy uJ per inference:",
        "",
        tabulate(cost, headers=["variant", *boards], tablefmt="github", disable_numparse=True),
        "",
        f"Battery days ({battery}, {rate:g} inference/s, asleep in between), or why the "
        "variant does not fit (flash: model + runtime; SRAM: arena + I/O + runtime):",
        "",
        tabulate(life, headers=["variant", *boards], tablefmt="github", disable_numparse=True),
        *references(res, boards),
    ]


def references(res: Results, boards: list[str]) -> list[str]:
    """The published results of other software on these boards: beside the estimate,
    never behind it."""
    rows = [r for r in res.calibration.rows if r.board in boards and r.reference()]
    if not rows:
        return []
    said: dict[str, list[str]] = {}
    for r in rows:
        model = "ad01" if r.benchmark == "ad" else "the KWS DS-CNN"
        dtype = f" ({text(r.dtype)})" if r.dtype not in (None, "int8") else ""
        said.setdefault(r.board, []).append(
            f"{text(r.software)} ran {model}{dtype} in {r.published_ms:.3g} ms"
        )
    return [
        "",
        "Published references (other software than TFLM + CMSIS-NN on the CPU; never "
        "fitted, shown for scale):",
        "",
        *(f"- {text(b)}: {'; '.join(v)}" for b, v in said.items()),
    ]


def _used(row: PublishedFit) -> str:
    """Whether the fits use a published row: yes, a reference (other software), left out."""
    if row.fitted():
        return "yes"
    return "reference" if row.reference() else "left out"


def calibration_section(res: Results) -> list[str]:
    cal = res.calibration
    if not cal.models:
        return []
    rows = cal.rows
    body = [
        [
            text(r.benchmark.upper()),
            text(r.board),
            text(r.software),
            text(r.dtype or ""),
            f"{r.published_ms:g}",
            f"{r.est_ms:.3g}",
            pct(r.error_ms),
            pct(r.loo_error_ms),
            "" if r.published_uj is None else f"{r.published_uj:g}",
            "" if r.est_uj is None else f"{r.est_uj:.4g}",
            pct(r.error_uj),
            _used(r),
        ]
        for r in rows
    ]
    models = [
        f"- {text(m.name)}: {m.macs_counted:,} MACs counted "
        f"(published {m.macs_published:,}),"
        f" {sum(m.ops.values())} operators ({counts_text(m.ops)})"
        + (
            f", {m.tflm_instructions:,} TFLM instructions per inference on the host"
            if m.tflm_instructions
            else ""
        )
        for m in cal.models.values()
    ]
    summary = []
    for bench in sorted({r.benchmark for r in rows}):
        mine = [r for r in rows if r.benchmark == bench and r.fitted()]
        loo = sorted(abs(r.loo_error_ms) for r in mine if r.loo_error_ms is not None)
        summary.append(
            f"- {text(bench.upper())}: in sample, "
            f"worst {max(abs(r.error_ms) for r in mine):.1%}; "
            + (
                f"leave-one-out, median {loo[len(loo) // 2]:.1%}, worst {loo[-1]:.1%} over "
                f"{len(loo)} row{'s' if len(loo) != 1 else ''}"
                if loo
                else "no leave-one-out row"
            )
        )
    fixed = ", ".join(f"{k} {v:g}" for k, v in cal.fixed_cycles.items())
    return [
        "## Calibration of the board estimates",
        "",
        "Without the firmware: cycles = invoke overhead + per operator (fixed cost + cycles "
        "per MAC of its class, or per element for the rest); cycles per MAC of dense "
        "operators are fitted on the AD rows, of convolutions on the KWS rows, of the "
        "board's core (geometric means over the published results that ran CMSIS-NN's "
        f"kernels on a CPU; the rest are references); fixed costs are priors ({fixed}). "
        "The reference models, built here:",
        "",
        *models,
        "",
        "Latency error of each published row, in sample and, for the rows fitted, "
        "leave-one-out (its core's fit without the row):",
        "",
        *summary,
        "",
        tabulate(
            body,
            headers=[
                "bench",
                "board",
                "software",
                "dtype",
                "published ms",
                "est ms",
                "error",
                "leave-one-out",
                "published uJ",
                "est uJ",
                "error",
                "fitted",
            ],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        f"Catalog: `{Path(cal.catalog or '').name}`; sources and the basis of every "
        "uncalibrated figure are in the file (`edgebench targets` lists it).",
    ]
