"""The answer: per board and architecture, the variant to ship; what its board figures
rest on; why an architecture ships nowhere."""

from tabulate import tabulate

from bench.baselines import degenerate
from bench.choose import (
    Constraints,
    answer,
    held_back,
    latency_over,
    nothing_qualifies,
    pareto,
    within_noise,
)
from bench.markup import text
from bench.report.cells import DELTA, cell, estimate
from bench.report.detection import in_words
from bench.schema import BoardInfo, Results, Row


def by_arch(res: Results) -> dict[str, list[Row]]:
    arches: dict[str, list[Row]] = {}
    for row in res.rows:
        arches.setdefault(row.arch, []).append(row)
    return arches


def chosen_constraints(res: Results, override: Constraints | None) -> Constraints:
    return override or Constraints.saved(res)


def baseline_rows(res: Results, arch: str) -> list[Row]:
    """The non-learned detectors of `arch`'s test points, as table rows."""
    found = res.baselines.get(arch)
    return [
        Row.of({"arch": arch, "variant": _baseline_name(name, figures), **figures})
        for name, figures in (found.detectors() if found else {}).items()
    ]


def _baseline_name(name: str, figures: dict) -> str:
    """`baseline: rolling zscore`, said degenerate where its alarms say nothing."""
    said = f"baseline: {name.replace('_', ' ')}"
    return said + (" (degenerate)" if degenerate(name, figures) else "")


def _baseline(row: Row) -> str:
    if row.detection.baseline_best_point_f1 is None:
        return "n/a"
    found = row.detection
    far = "" if found.baseline_best_far is None else f", FAR {found.baseline_best_far:.3f}"
    return f"{found.baseline_best_point_f1:.3f} ({found.baseline_best.replace('_', ' ')}{far})"


Answers = list[tuple[str, str, Row | None]]  # (board, arch, the row to ship or None)


def answers(res: Results, constraints: Constraints) -> Answers:
    """(board, arch, the row to ship or None) for every board and architecture."""
    arches = by_arch(res)
    return [
        (board, arch, answer(rows, constraints, board))
        for board in res.boards
        for arch, rows in arches.items()
    ]


def _f1_cell(row: Row, constraints: Constraints) -> str:
    """`0.781 [0.70, 0.85] (+0.002)` with the test points' bootstrap interval, or over
    seeds `0.780 ± 0.004 (+0.001)`; `within noise` where the loss's interval straddles
    the allowed loss."""
    found = row.detection
    if found.point_f1 is None:
        return "not scored"
    noise = ", within noise" if within_noise(row, constraints) else ""
    if row.seeds.point_f1_mean is None or row.seeds.point_f1_ci95_high is None:
        low, high = found.point_f1_boot_low, found.point_f1_boot_high
        spread = "" if low is None or high is None else f" [{low:.2f}, {high:.2f}]"
        return f"{found.point_f1:.3f}{spread} ({cell(row, DELTA, '{:+.3f}', None)}{noise})"
    half = row.seeds.point_f1_ci95_high - row.seeds.point_f1_mean
    delta = cell(row, "point_f1_delta_mean", "{:+.3f}", None)
    return f"{row.seeds.point_f1_mean:.3f} ± {half:.3f} ({delta}{noise})"


def _memory(row: Row, board: BoardInfo) -> list[str]:
    """Flash and RAM of the firmware for the board's core; `~` host proxies (flatbuffer,
    host arena) where no firmware was measured for it."""
    from bench.boards.catalog import EMULATED

    core = EMULATED.get(board.core or "")
    fw = row.firmware.on(core) if core else None
    if fw is not None:
        return [f"{fw.flash_bytes:,}", f"{fw.ram_bytes:,}"]
    return [f"~{row.size.size_bytes:,}", f"~{row.tflm.arena_bytes:,}"]


def _unshipped(res: Results, constraints: Constraints, found: Answers) -> dict[str, str]:
    """arch -> why, for each arch that ships to no board in `found` (`answers`): the
    reason its best-scoring variant is out."""
    shipped = {arch for _, arch, row in found if row is not None}
    why = {a: nothing_qualifies(rows, constraints) for a, rows in by_arch(res).items()}
    return {a: reason for a, reason in why.items() if a not in shipped and reason}


def answer_text(res: Results, constraints: Constraints | None = None, bold: str = "") -> str:
    """What `edgebench run` prints and the report opens with: why detection was not
    scored, if it was not; why each arch that ships nowhere does not (one line each);
    the table of the rest (`bold`: `**` for markdown)."""
    constraints = chosen_constraints(res, constraints)
    found = answers(res, constraints)
    nowhere = _unshipped(res, constraints, found)
    unscored = unscored_line(res)
    lines = [basis_line(res)] + ([f"{bold}{unscored}{bold}"] if unscored else [])
    lines += [f"{bold}`{arch}`: nothing to ship.{bold} {why}" for arch, why in nowhere.items()]
    table = _table(res, found, nowhere, constraints)
    noise = held_back_lines(res, constraints)
    return "\n\n".join(lines + ([table] if table else []) + (["\n".join(noise)] if noise else []))


def _quality(row: Row, constraints: Constraints) -> list[str]:
    """The answer's detection cells: point F1, FAR, best baseline; where nobody scored
    detection, what vouches for the variant instead (its agreement with float32)."""
    if not row.id.detection_skipped:
        return [_f1_cell(row, constraints), cell(row, "far", "{:.3f}", None), _baseline(row)]
    rho = row.vs_float32.score_rank_correlation
    agreement = "float32 itself" if row.id.parent is None else f"scores' rank corr {rho:.3f}"
    return [f"not scored ({agreement})", "", ""]


def answer_table(res: Results, constraints: Constraints | None = None) -> str:
    """Per board (and arch): the variant to ship, its estimates, memory and quality; an
    arch that ships to no board is left out (`answer_text` says why); empty when none
    ships anywhere."""
    constraints = chosen_constraints(res, constraints)
    found = answers(res, constraints)
    return _table(res, found, _unshipped(res, constraints, found), constraints)


def _table(res: Results, found: Answers, nowhere: dict, constraints: Constraints) -> str:
    boards = res.boards
    body: list[list[str]] = []
    for board, arch, row in found:
        if arch in nowhere:
            continue
        name = boards[board].name
        if row is None:
            body.append([name, arch, "none qualifies", "", "", "", "", "", "", ""])
            continue
        est = row.boards.boards[board]  # `answers` shipped it to this board
        body.append(
            [
                name,
                arch,
                row.variant,
                estimate(est.est_latency_ms, est.est_latency_ms_low, est.est_latency_ms_high)
                + ("" if est.calibrated else " *"),
                estimate(est.est_energy_uj, est.est_energy_uj_low, est.est_energy_uj_high),
                *_memory(row, boards[board]),
                *_quality(row, constraints),
            ]
        )
    if not body:
        return ""
    return tabulate(
        body,
        headers=[
            "board",
            "arch",
            "ship",
            "est ms [90 %]",
            "est uJ [90 %]",
            "flash B",
            "RAM B",
            "point F1 (vs float32)",
            "FAR",
            "best baseline F1",
        ],
        tablefmt="github",
        disable_numparse=True,
    )


RULE = (
    "Rule: among the variants that meet the constraints and fit the board, the one with "
    "the least estimated energy per inference; ties go to the smaller flatbuffer, then "
    "the better point F1 (each test point scored by the window that ends at it). `*`: "
    "an estimate that uses an uncalibrated figure. Flash and RAM are the firmware's, "
    "linked for the board's core (RAM: arena + static data + stack's high-water mark); "
    "`~`: no firmware for that core, so the flatbuffer and the host's arena stand in."
)


def held_back_lines(res: Results, constraints: Constraints) -> list[str]:
    """Per board and arch where the latency limit's noise changed the answer: the variant
    that would ship were its latency surely within the limit."""
    limit = constraints.max_est_latency_ms
    out = []
    for board in res.boards if limit is not None else ():
        for arch, rows in by_arch(res).items():
            row = held_back(rows, constraints, board)
            est = row.boards.get(board) if row else None
            if row is None or est is None:
                continue
            why = latency_over(row, constraints, board)
            reach = (
                f"its 90 % interval reaches {est.est_latency_ms_high:.3g} ms: within noise"
                if why == "within noise"
                else "it has no interval (an uncalibrated figure)"
            )
            out.append(
                f"- {text(board)}, `{arch}`: `{row.variant}` would ship, but its estimate "
                f"{est.est_latency_ms:.3g} ms meets the {limit:g} ms limit only on its face; "
                f"{reach}."
            )
    return out


def basis_line(res: Results) -> str:
    """What the answer's board figures rest on: the firmware measured per core, or host
    proxies (and why, and how to measure the firmware)."""
    from bench.firmware.toolchain import profile_of

    rows = res.rows
    cores = sorted({core for r in rows for core in r.firmware.firmware or {}})
    if cores:
        built = sorted({profile_of(r.firmware.firmware_tool) for r in rows if r.firmware.firmware})
        return (
            f"Board figures: the firmware built at -{'/-'.join(built)} and emulated for "
            f"{', '.join(cores)} (flash and RAM of the linked image; latency from its "
            "instructions and its core's cycles per instruction, fitted on published CMSIS-NN "
            "results, with a 90 % interval); `~` marks a board whose core had none."
        )
    why = next((r.firmware.firmware_error for r in rows if r.firmware.firmware_error), None)
    return (
        "Board figures: host proxies, no firmware was built"
        + (f" ({text(why)})" if why else "")
        + ": flash is the flatbuffer plus a runtime allowance, RAM the host's arena, latency "
        "a MAC fit. `--tflm-tree` and the Arm toolchain measure the firmware instead "
        "(docs/firmware.md)."
    )


def unscored_line(res: Results) -> str | None:
    """The answer's first line when detection was not scored (a model brought in alone)."""
    why = next((r.id.detection_skipped for r in res.rows if r.id.detection_skipped), None)
    if why is None:
        return None
    return (
        f"Detection was not scored ({why}): the answer ranks by fit on the board, then "
        "energy, among the variants of your own model whose scores were compared with its "
        "float32's; a distilled student (another architecture) ships nowhere."
    ) + _trained_on(res)


def _trained_on(res: Results) -> str:
    """Where a brought model's recipes learnt, when the run was given no data of its own."""
    where = next((r.id.trained_on for r in res.rows if r.id.trained_on), None)
    if where is None:
        return ""
    return (
        f" Its int8 quantization ranges, pruning, QAT, clustering and distillation were set "
        f"or trained on {text(where)}."
    )


def summary(res: Results, constraints: Constraints) -> list[str]:
    """The answer first: what to ship to which board; then what no variant achieves, the
    Pareto fronts and what could not be considered, each reason once."""
    lines = ["## The answer: which variant to ship to which board", ""]
    lines += [
        answer_text(res, constraints, bold="**"),
        "",
        f"Constraints: {constraints}. {RULE}",
        "",
    ]
    fronts = [
        f"`{arch}`: " + (", ".join(f"`{r.variant}`" for r in pareto(rows)) or "n/a")
        for arch, rows in by_arch(res).items()
    ]
    lines += ["Pareto-optimal over size, host latency and point F1: " + "; ".join(fronts)]
    lines += identical(res)
    refused: dict[str, list[str]] = {}
    for r in res.rows:
        why = constraints.rejects(r)
        if why and why.startswith(("failed", "not deployable")):
            refused.setdefault(in_words(r, why), []).append(f"`{r.label}`")
    if refused:
        lines += [
            "",
            'Could not be considered (TFLM\'s own words under "Not deployable"):',
            "",
            *(f"- {', '.join(who)}: {why}" for why, who in refused.items()),
        ]
    return lines


def identical(res: Results) -> list[str]:
    """Variants that compute exactly as another of their arch: the same operators,
    tensors and weights (dynamic-range quantization skips tensors under 1,024 elements: on
    a small model, float32's graph), byte for byte or but for the converter's metadata."""
    same: dict[tuple[str, str], list[Row]] = {}
    for r in res.rows:
        if r.graph.graph_sha256:
            same.setdefault((r.arch, r.graph.graph_sha256), []).append(r)
    lines = [
        f"- `{arch}`: "
        + ", ".join(f"`{r.variant}`" for r in rows[1:])
        + f" computes exactly as `{rows[0].variant}` ("
        + (
            "the same bytes"
            if len({r.id.sha256 for r in rows}) == 1
            else "the same graph and weights; only the converter's metadata differs"
        )
        + "): its figures are that model's"
        for (arch, _), rows in same.items()
        if len(rows) > 1
    ]
    return ["", "Identical models:", "", *lines] if lines else []


def shipped_row(res: Results, arch: str, rows: list[Row], constraints: Constraints) -> Row:
    """The row the answer ships to the first board, else float32, else the first row."""
    board = next(iter(res.boards), None)
    pick = answer(rows, constraints, board) if board else None
    return pick or next((r for r in rows if r.variant == "float32"), rows[0])
