"""The report's firmware parts: per arch, each variant's image per core; the boards'
cycles-per-instruction fits on published results."""

import statistics

from tabulate import tabulate

from bench.firmware.measure import INTERPRETER
from bench.markup import text
from bench.schema import CoreFirmware, Row


def _costliest(fw: CoreFirmware, n: int = 3) -> str:
    ops = sorted(
        ((op, k) for op, k in fw.instructions_by_op.items() if op != INTERPRETER),
        key=lambda kv: -kv[1],
    )
    return ", ".join(f"{text(op)} {k / max(1, fw.instructions):.0%}" for op, k in ops[:n])


def _line(row: Row, fw: CoreFirmware) -> list[str]:
    host = row.instructions.tflm_instructions
    return [
        row.variant,
        text(fw.core),
        f"{fw.flash_bytes:,}",
        f"{fw.flash_model_bytes:,} / {fw.flash_tflm_bytes:,} / {fw.flash_rest_bytes:,}",
        f"{fw.ram_bytes:,}",
        f"{fw.ram_arena_bytes:,} / {fw.ram_static_bytes:,} / {fw.ram_stack_bytes:,}",
        f"{row.tflm.arena_bytes:,}" if row.tflm.arena_bytes else "",
        f"{fw.instructions:,}",
        f"{host:,}" if host else "",
        _costliest(fw),
        "yes" if fw.output_matches_host else f"no (max diff {fw.output_max_abs_diff:.3g})",
    ]


HEADERS = [
    "variant",
    "core",
    "flash B",
    "model / TFLM / rest",
    "RAM B",
    "arena / static / stack",
    "host arena B",
    "instructions",
    "x86 TFLM instr",
    "costliest operators",
    "output = host",
]


def section(rows: list[Row]) -> list[str]:
    """One arch's firmware table, and why the variants without figures have none."""
    body = [_line(r, fw) for r in rows for fw in (r.firmware.firmware or {}).values()]
    missing = [r for r in rows if r.firmware.measured() and r.firmware.firmware_errors]
    unavailable = {r.firmware.firmware_error for r in rows if not r.firmware.firmware}
    if not body:
        reason = next((u for u in unavailable if u and u.startswith("unavailable")), None)
        return ["", "### Firmware", "", text(reason), ""] if reason else []
    tool = next(r.firmware.firmware_tool for r in rows if r.firmware.firmware_tool)
    lines = [
        "",
        "### Firmware (TFLM + CMSIS-NN, linked per core, run in unicorn)",
        "",
        f"Instructions per invoke on the target, counted in the emulator ({text(tool)}); flash "
        "from the linker's map, RAM = the smallest arena that allocates on the 32-bit "
        "target + .data/.bss + the stack's high-water mark. The output of a fixed input is "
        "checked against TFLM on the host.",
        "",
        tabulate(body, headers=HEADERS, tablefmt="github", disable_numparse=True),
        "",
    ]
    for row in missing:
        for core, why in (row.firmware.firmware_errors or {}).items():
            lines.append(f"- `{row.label}` on {text(core)}: {text(why)}")
    return [*lines, ""] if missing else lines


def _errors(fits: dict) -> str:
    """`In sample: median |error| ...; leave-one-out: ...` over every row used."""
    rows = [r for f in fits.values() for r in f["rows"]]
    fitted = sorted(abs(r["error_ms"]) for r in rows)
    held = sorted(abs(r["loo_error_ms"]) for r in rows if r["loo_error_ms"] is not None)
    if not fitted:
        return "- no published row to fit"
    loo = (
        f"; leave-one-out median {statistics.median(held):.1%}, worst {held[-1]:.1%}"
        if held
        else ""
    )
    return (
        f"- {len(fitted)} row{'s' if len(fitted) != 1 else ''}: in sample median |error| "
        f"{statistics.median(fitted):.1%}, "
        f"worst {fitted[-1]:.1%}{loo}"
    )


CALIBRATION = [
    "board",
    "core",
    "CPI",
    "row used",
    "instructions",
    "published ms",
    "fitted ms (error)",
    "leave-one-out",
]


def calibration(res: dict) -> list[str]:
    """The boards' CPI fits: rows used, in-sample and leave-one-out errors."""
    fits = res.get("calibration", {}).get("firmware")
    if not fits:
        return []
    body = []
    for board, fit in fits.items():
        if fit["cpi"] is None:
            body.append([text(board), text(fit["core"]), "", "no published result", "", "", "", ""])
            continue
        for r in fit["rows"]:
            loo = "" if r["loo_error_ms"] is None else f"{r['loo_error_ms']:+.1%}"
            body.append(
                [
                    text(board),
                    text(fit["core"]),
                    f"{fit['cpi']:.3f}",
                    text(f"{r['benchmark']}: {r['software']}"),
                    f"{r['instructions']:,}",
                    f"{r['published_ms']:.4g}",
                    f"{r['est_ms']:.4g} ({r['error_ms']:+.1%})",
                    loo,
                ]
            )
    notes = [f"- {text(b)}: {text(f['note'])}" for b, f in fits.items() if f.get("note")]
    notes.insert(0, _errors(fits))
    return [
        "### Board latency from the firmware's own counts",
        "",
        "cycles = the board's cycles per instruction (CPI) x the instructions of the "
        "variant's firmware on the board's core. Each CPI is the geometric mean of "
        "published cycles / counted instructions over the board's MLPerf Tiny rows (its "
        "TFLM + CMSIS-NN submissions where it has any); leave-one-out: fitted without "
        "the row.",
        "",
        tabulate(body, headers=CALIBRATION, tablefmt="github", disable_numparse=True),
        "",
        *notes,
    ]
