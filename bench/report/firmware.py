"""The report's firmware parts: per arch, each variant's image per core; the boards'
cycles-per-instruction fits on published results."""

import statistics

from tabulate import tabulate

from bench.firmware.measure import INTERPRETER
from bench.markup import text
from bench.schema import BoardFit, CoreFirmware, FirmwareRow, Results, Row


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


def _errors(rows: list[FirmwareRow]) -> str:
    """`in sample median |error| ...; leave-one-out ...` over the rows of a fit."""
    fitted = sorted(abs(r.error_ms) for r in rows)
    held = sorted(abs(r.loo_error_ms) for r in rows if r.loo_error_ms is not None)
    loo = (
        f"; leave-one-out median {statistics.median(held):.1%}, worst {held[-1]:.1%}"
        if held
        else ""
    )
    return (
        f"{len(fitted)} row{'s' if len(fitted) != 1 else ''}: in sample median |error| "
        f"{statistics.median(fitted):.1%}, worst {fitted[-1]:.1%}{loo}"
    )


CALIBRATION = [
    "board",
    "row used",
    "instructions",
    "published ms",
    "fitted ms (error)",
    "leave-one-out",
]
BOARDS = ["board", "core", "CPI", "90 % interval", "rests on", "note"]


def _interval(fit: BoardFit) -> str:
    found = fit.interval()
    return "none" if found is None else f"{found[0] - 1:+.0%} / {found[1] - 1:+.0%}"


def calibration(res: Results, figure: str | None = None) -> list[str]:
    """The cores' CPI fits: the rows used per core with their errors, each board's CPI,
    interval and basis, the rows left out and why, and the check on unseen models
    (`figure`: the plot of each row against its leave-one-out estimate)."""
    cal = res.calibration
    fits = cal.firmware
    if not fits:
        return []
    lines = [
        "### Board latency from the firmware's own counts",
        "",
        "cycles = the core's cycles per instruction (CPI) x the instructions of the variant's "
        "firmware on that core. A core's CPI is the geometric mean of published cycles / "
        "counted instructions over the MLPerf Tiny results that ran CMSIS-NN's kernels on a "
        "CPU of that core (TFLM, microTVM, ONNC), pooled over its boards; leave-one-out: "
        "predicted from the core's other rows. The 90 % interval is e^(±1.645 s), s the root "
        "mean square of the log leave-one-out errors (of the core's other boards where a "
        "board has no row; of the other cores where a core has none).",
    ]
    for core in sorted({f.core for f in fits.values()}):
        mine = {b: f for b, f in fits.items() if f.core == core}
        rows = [(b, r) for b, f in mine.items() for r in f.rows]
        if rows:
            body = [
                [
                    text(b),
                    text(f"{r.benchmark}: {r.software}"),
                    f"{r.instructions:,}",
                    f"{r.published_ms:.4g}",
                    f"{r.est_ms:.4g} ({r.error_ms:+.1%})",
                    "" if r.loo_error_ms is None else f"{r.loo_error_ms:+.1%}",
                ]
                for b, r in rows
            ]
            table = tabulate(body, headers=CALIBRATION, tablefmt="github", disable_numparse=True)
            lines += ["", f"{text(core)}: {_errors([r for _, r in rows])}", "", table]
        else:
            lines += ["", f"{text(core)}: no published CMSIS-NN result"]
    per_board = [
        [
            text(b),
            text(f.core),
            "" if f.cpi is None else f"{f.cpi:.3f}",
            _interval(f),
            text(f.basis),
            text(f.note),
        ]
        for b, f in fits.items()
    ]
    lines += ["", tabulate(per_board, headers=BOARDS, tablefmt="github", disable_numparse=True)]
    left = [
        f"- {text(b)}, {text(r.benchmark)}: {text(r.software)} "
        f"({r.published_ms:.4g} ms): {text(r.why)}"
        for b, f in fits.items()
        for r in f.references
    ]
    if left:
        lines += ["", "Left out of the fits:", "", *left]
    if figure:
        lines += ["", f"![calibration](plots/{figure})"]
    check = cal.firmware_check
    if check and check.rows:
        lines += [
            "",
            f"On models a fit never saw (each benchmark's rows predicted from the other "
            f"benchmark's alone): {check.inside} of {check.rows} published rows fall "
            "inside the stated 90 % interval.",
        ]
    return lines
