"""REPORT.md from a results dict alone: no model is loaded or run here."""

import json
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from bench import results, schema
from bench.advice import advice
from bench.cache import Cache, write_text_atomic
from bench.choose import (
    Constraints,
    answer,
    held_back,
    latency_over,
    nothing_qualifies,
    pareto,
    within_noise,
)
from bench.detection import degenerate
from bench.firmware import tables as firmware_tables
from bench.markup import text
from bench.schema import Row

# Per table: the row fields shown; headers, formats and which value is best come from
# the schema.
TABLES = {
    "Size": (
        "variant",
        "size_bytes",
        "size_ratio_vs_float32",
        "size_gzip_bytes",
        "size_data_bytes",
        "size_nondata_bytes",
        "params",
        "arena_bytes",
        "build_seconds",
    ),
    "Speed (host)": (
        "variant",
        "tflm_instructions",
        "latency_us_p50",
        "latency_us_p99",
        "throughput_windows_per_s",
        "tflm_latency_us_p50",
        "tflm_latency_us_p99",
    ),
    "Detection (point level; baselines first)": (
        "variant",
        "point_f1",
        "point_f1_delta_vs_float32",
        "point_precision",
        "point_recall",
        "far",
        "mar",
        "point_roc_auc",
        "point_pr_auc",
        "alarm_rate",
        "baseline_random_point_f1",
        "event_recall",
        "detection_delay_mean",
        "false_alarms_per_1000",
        "nab_score_standard",
        "window_f1",
        "threshold",
    ),
    "Compression": (
        "variant",
        "lineage",
        "params",
        "params_ratio_vs_float32",
        "sparsity",
        "size_gzip_bytes",
        "weight_unique_values",
        "weight_unique_per_channel_max",
        "float_compute_ops",
        "build_seconds",
    ),
    "TFLite Micro": (
        "variant",
        "tflm_deployable",
        "arena_bytes",
        "arena_recorded_bytes",
        "tflm_score_max_abs_diff",
        "tflm_decisions_differ",
        "ops",
        "arena_search_seconds",
    ),
}


def _format(value: object, fmt: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, dict):
        return ", ".join(f"{k} x{v}" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return f"{max(value):,}" if value else "n/a"
    return fmt.format(value)


def _cell(row: Row, key: str, fmt: str, best: object) -> str:
    value = row.value(key)
    if value is None:
        return "n/a"
    text = _format(value, fmt)
    return f"**{text}**" if best is not None and value == best else text


def variant_table(rows: list[Row], keys: Sequence[str], lead: Sequence[Row] = ()) -> str:
    """One line per variant after the `lead` rows (baselines); the best value of each
    column among the variants in bold."""
    columns = [schema.column(key) for key in keys]
    best = {}
    for _, key, _, rule in columns:
        values = [r.value(key) for r in rows if r.value(key) is not None]
        if rule and values:
            best[key] = min(values) if rule == "min" else max(values)
    body = [[_cell(r, key, fmt, None) for _, key, fmt, _ in columns] for r in lead]
    body += [[_cell(r, key, fmt, best.get(key)) for _, key, fmt, _ in columns] for r in rows]
    return tabulate(body, headers=[c[0] for c in columns], tablefmt="github", disable_numparse=True)


def target_table(rows: list[Row]) -> str:
    """Each promised point-F1 target with its verdict on the point difference and on the
    paired interval; a missed one is said plainly."""
    body = [
        [
            r.label,
            r.id.f1_target,
            _cell(r, "point_f1", "{:.3f}", None),
            _spread(r.vs_float32.point_f1_delta_vs_float32, *_paired(r), "{:+.3f}"),
            _cell(r, "point_f1_ratio_vs_float32", "{:.3f}", None),
            "met" if r.vs_float32.f1_target_met else "**MISSED**",
            _verdict(r.vs_float32.f1_target_judged),
        ]
        for r in rows
        if r.id.f1_target and r.vs_float32.f1_target_met is not None
    ]
    if not body:
        return ""
    return tabulate(
        body,
        headers=[
            "variant",
            "target",
            "point F1",
            "dF1 [paired 95 %]",
            "F1 ratio",
            "on the difference",
            "on the interval",
        ],
        tablefmt="github",
        disable_numparse=True,
    )


def _verdict(said: str | None) -> str:
    return "n/a" if said is None else "**MISSED**" if said == "missed" else said


def _paired(row: Row) -> tuple[float | None, float | None]:
    return (
        row.vs_float32.point_f1_delta_vs_float32_low,
        row.vs_float32.point_f1_delta_vs_float32_high,
    )


def _spread(value: float | None, low: float | None, high: float | None, fmt: str) -> str:
    """`0.781 [0.702, 0.850]`; the value alone without an interval."""
    if value is None:
        return "n/a"
    if low is None or high is None:
        return fmt.format(value)
    return f"{fmt.format(value)} [{fmt.format(low)}, {fmt.format(high)}]"


def noise_table(rows: list[Row]) -> list[str]:
    """Per variant: the window score, each verdict figure with its block-bootstrap
    interval, the paired differences from the best baseline and from float32, and the
    threshold-free fidelity to float32."""
    have = [r for r in rows if r.detection.bootstrap]
    if not have:
        return []
    body = []
    for r in have:
        d, v = r.detection, r.vs_float32
        body.append(
            [
                r.variant,
                d.window_score or "mean",
                _spread(d.point_f1, d.point_f1_boot_low, d.point_f1_boot_high, "{:.3f}"),
                _spread(d.far, d.far_boot_low, d.far_boot_high, "{:.3f}"),
                _spread(
                    d.event_recall, d.event_recall_boot_low, d.event_recall_boot_high, "{:.2f}"
                ),
                _spread(
                    d.nab_score_standard,
                    d.nab_score_standard_boot_low,
                    d.nab_score_standard_boot_high,
                    "{:.1f}",
                ),
                _spread(
                    None
                    if d.point_f1 is None or d.baseline_best_point_f1 is None
                    else d.point_f1 - d.baseline_best_point_f1,
                    d.point_f1_delta_vs_baseline_low,
                    d.point_f1_delta_vs_baseline_high,
                    "{:+.3f}",
                )
                + f" {d.vs_baseline or ''}",
                _spread(v.point_f1_delta_vs_float32, *_paired(r), "{:+.3f}"),
                _spread(
                    v.point_f1_matched_delta_vs_float32,
                    v.point_f1_matched_delta_vs_float32_low,
                    v.point_f1_matched_delta_vs_float32_high,
                    "{:+.3f}",
                ),
                _cell(r, "score_rank_correlation", "{:.3f}", None),
                _cell(r, "decision_agreement", "{:.3f}", None),
                _cell(r, "point_pr_auc_delta_vs_float32", "{:+.3f}", None),
            ]
        )
    headers = [
        "variant",
        "score",
        "point F1 [95 %]",
        "FAR [95 %]",
        "event recall [95 %]",
        "NAB std [95 %]",
        "F1 - best baseline [paired]",
        "F1 - float32 [paired]",
        "at float32's alarm count",
        "rank corr vs float32",
        "agreement vs float32",
        "dPR-AUC",
    ]
    table = tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)
    return [
        "",
        "### Against noise, and against float32",
        "",
        f"95 % block-bootstrap intervals over the test points ({have[0].detection.bootstrap}; "
        "the blocks are at least a window long). Paired: the same draws for both sides, so "
        "the interval is of the difference. At float32's alarm count, the variant alarms "
        "on its highest test scores, as many as float32 alarmed on: the F1 difference is "
        "then the models', not their thresholds' (no label is read to match). Rank "
        "correlation (Spearman) and agreement (at float32's alarm count) compare the "
        "scores with float32's and need no threshold. "
        f"Score: {have[0].detection.score_choice or 'n/a'}.",
        "",
        table,
    ]


def failures(rows: list[Row]) -> list[str]:
    return [
        f"- `{r.label}` {stage}: {text(why.kind)}: {text(why.message)}"
        for r in rows
        for stage, why in (r.id.errors or {}).items()
    ]


def _arches(res: dict) -> dict[str, list[Row]]:
    arches: dict[str, list[Row]] = {}
    for row in res["rows"]:
        arches.setdefault(row.arch, []).append(row)
    return arches


def _constraints(res: dict, override: Constraints | None) -> Constraints:
    return override or Constraints.saved(res)


def baseline_rows(res: dict, arch: str) -> list[Row]:
    """The non-learned detectors of `arch`'s test points, as table rows."""
    found = (res.get("baselines") or {}).get(arch) or {}
    return [
        Row.of({"arch": arch, "variant": _baseline_name(name, figures), **figures})
        for name, figures in found.items()
        if isinstance(figures, dict)
    ]


def _baseline_name(name: str, figures: dict) -> str:
    """`baseline: rolling zscore`, said degenerate where its alarms say nothing."""
    said = f"baseline: {name.replace('_', ' ')}"
    return said + (" (degenerate)" if degenerate(name, figures) else "")


DELTA = "point_f1_delta_vs_float32"


def _baseline(row: Row) -> str:
    if row.detection.baseline_best_point_f1 is None:
        return "n/a"
    found = row.detection
    far = "" if found.baseline_best_far is None else f", FAR {found.baseline_best_far:.3f}"
    return f"{found.baseline_best_point_f1:.3f} ({found.baseline_best.replace('_', ' ')}{far})"


Answers = list[tuple[str, str, Row | None]]  # (board, arch, the row to ship or None)


def answers(res: dict, constraints: Constraints) -> Answers:
    """(board, arch, the row to ship or None) for every board and architecture."""
    arches = _arches(res)
    return [
        (board, arch, answer(rows, constraints, board))
        for board in results.boards(res)
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
        return f"{found.point_f1:.3f}{spread} ({_cell(row, DELTA, '{:+.3f}', None)}{noise})"
    half = row.seeds.point_f1_ci95_high - row.seeds.point_f1_mean
    delta = _cell(row, "point_f1_delta_mean", "{:+.3f}", None)
    return f"{row.seeds.point_f1_mean:.3f} ± {half:.3f} ({delta}{noise})"


def _memory(row: Row, board: dict) -> list[str]:
    """Flash and RAM of the firmware for the board's core; `~` host proxies (flatbuffer,
    host arena) where no firmware was measured for it."""
    from bench.boards.catalog import EMULATED

    core = EMULATED.get(board.get("core", ""))
    fw = row.firmware.on(core) if core else None
    if fw is not None:
        return [f"{fw.flash_bytes:,}", f"{fw.ram_bytes:,}"]
    return [f"~{row.size.size_bytes:,}", f"~{row.tflm.arena_bytes:,}"]


def _unshipped(res: dict, constraints: Constraints, found: Answers) -> dict[str, str]:
    """arch -> why, for each arch that ships to no board in `found` (`answers`): the
    reason its best-scoring variant is out."""
    shipped = {arch for _, arch, row in found if row is not None}
    why = {a: nothing_qualifies(rows, constraints) for a, rows in _arches(res).items()}
    return {a: reason for a, reason in why.items() if a not in shipped and reason}


def answer_text(res: dict, constraints: Constraints | None = None, bold: str = "") -> str:
    """What `edgebench run` prints and the report opens with: why detection was not
    scored, if it was not; why each arch that ships nowhere does not (one line each);
    the table of the rest (`bold`: `**` for markdown)."""
    constraints = _constraints(res, constraints)
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
        return [_f1_cell(row, constraints), _cell(row, "far", "{:.3f}", None), _baseline(row)]
    rho = row.vs_float32.score_rank_correlation
    agreement = "float32 itself" if row.id.parent is None else f"scores' rank corr {rho:.3f}"
    return [f"not scored ({agreement})", "", ""]


def answer_table(res: dict, constraints: Constraints | None = None) -> str:
    """Per board (and arch): the variant to ship, its estimates, memory and quality; an
    arch that ships to no board is left out (`answer_text` says why); empty when none
    ships anywhere."""
    constraints = _constraints(res, constraints)
    found = answers(res, constraints)
    return _table(res, found, _unshipped(res, constraints, found), constraints)


def _table(res: dict, found: Answers, nowhere: dict, constraints: Constraints) -> str:
    boards = results.boards(res)
    body: list[list[str]] = []
    for board, arch, row in found:
        if arch in nowhere:
            continue
        name = boards[board].get("name", board)
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


def estimate(value: float, low: float | None, high: float | None) -> str:
    """`1.23 [1.05-1.45]`: an estimate with its 90 % interval, where it has one."""
    return f"{value:.3g}" + ("" if low is None or high is None else f" [{low:.3g}-{high:.3g}]")


def held_back_lines(res: dict, constraints: Constraints) -> list[str]:
    """Per board and arch where the latency limit's noise changed the answer: the variant
    that would ship were its latency surely within the limit."""
    limit = constraints.max_est_latency_ms
    out = []
    for board in results.boards(res) if limit is not None else ():
        for arch, rows in _arches(res).items():
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


def basis_line(res: dict) -> str:
    """What the answer's board figures rest on: the firmware measured per core, or host
    proxies (and why, and how to measure the firmware)."""
    from bench.firmware.toolchain import profile_of

    rows = res["rows"]
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


def unscored_line(res: dict) -> str | None:
    """The answer's first line when detection was not scored (a model brought in alone)."""
    why = next((r.id.detection_skipped for r in res["rows"] if r.id.detection_skipped), None)
    if why is None:
        return None
    return (
        f"Detection was not scored ({why}): the answer ranks by fit on the board, then "
        "energy, among the variants of your own model whose scores were compared with its "
        "float32's; a distilled student (another architecture) ships nowhere."
    ) + _trained_on(res)


def _trained_on(res: dict) -> str:
    """Where a brought model's recipes learnt, when the run was given no data of its own."""
    where = next((r.id.trained_on for r in res["rows"] if r.id.trained_on), None)
    if where is None:
        return ""
    return (
        f" Its int8 calibration, pruning, QAT, clustering and distillation trained or "
        f"calibrated on {text(where)}."
    )


def summary(res: dict, constraints: Constraints) -> list[str]:
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
        for arch, rows in _arches(res).items()
    ]
    lines += ["Pareto-optimal over size, host latency and point F1: " + "; ".join(fronts)]
    lines += identical(res)
    refused: dict[str, list[str]] = {}
    for r in res["rows"]:
        why = constraints.rejects(r)
        if why and why.startswith(("failed", "not deployable")):
            refused.setdefault(_in_words(r, why), []).append(f"`{r.label}`")
    if refused:
        lines += [
            "",
            'Could not be considered (TFLM\'s own words under "Not deployable"):',
            "",
            *(f"- {', '.join(who)}: {why}" for why, who in refused.items()),
        ]
    return lines


def identical(res: dict) -> list[str]:
    """Variants that compute exactly as another of their arch: the same operators,
    tensors and weights (dynamic-range quantization skips tensors under 1,024 elements: on
    a small model, float32's graph), byte for byte or but for the converter's metadata."""
    same: dict[tuple[str, str], list[Row]] = {}
    for r in res["rows"]:
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


def _in_words(row: Row, why: str) -> str:
    words = row.tflm.tflm_advice or advice(row.tflm.tflm_error)
    return f"not deployable on TFLite Micro ({text(words)})" if words else text(why)


def detection_warnings(rows: list[Row]) -> list[str]:
    said = [f"- `{r.label}`: {text(w)}" for r in rows for w in r.detection.detection_warnings or []]
    return ["", "## Detection warnings", "", *said] if said else []


def _boards(res: dict, rows: list[Row]) -> list[str]:
    return [b for b in results.boards(res) if any(b in (r.boards.boards or {}) for r in rows)]


def board_tables(res: dict, rows: list[Row]) -> list[str]:
    """Variants x boards: estimated latency and energy, battery life or why it does not
    fit (the answer per board is the report's first table)."""
    boards = _boards(res, rows)
    if not boards:
        return []
    defaults = res.get("estimate_defaults", {})
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


def references(res: dict, boards: list[str]) -> list[str]:
    """The published results of other software on these boards: beside the estimate,
    never behind it."""
    rows = [
        r
        for r in (res.get("calibration") or {}).get("rows", [])
        if r["board"] in boards and "why" in r and r.get("kernels", "cmsis-nn") != "cmsis-nn"
    ]
    if not rows:
        return []
    said: dict[str, list[str]] = {}
    for r in rows:
        model = "ad01" if r["benchmark"] == "ad" else "the KWS DS-CNN"
        dtype = f" ({text(r['dtype'])})" if r.get("dtype", "int8") != "int8" else ""
        said.setdefault(r["board"], []).append(
            f"{text(r['software'])} ran {model}{dtype} in {r['published_ms']:.3g} ms"
        )
    return [
        "",
        "Published references (other software than TFLM + CMSIS-NN on the CPU; never "
        "fitted, shown for scale):",
        "",
        *(f"- {text(b)}: {'; '.join(v)}" for b, v in said.items()),
    ]


def _shipped(res: dict, arch: str, rows: list[Row], constraints: Constraints) -> Row:
    """The row the answer ships to the first board, else float32, else the first row."""
    board = next(iter(results.boards(res)), None)
    pick = answer(rows, constraints, board) if board else None
    return pick or next((r for r in rows if r.variant == "float32"), rows[0])


def layer_table(row: Row) -> list[str]:
    """Per-layer analysis of one model: where its MACs and weight bytes go."""
    layers = row.graph.layers
    if not layers:
        return []
    macs = sum(la.macs for la in layers) or 1
    wbytes = sum(la.weight_bytes for la in layers) or 1
    body = [
        [
            i,
            la.op,
            "x".join(map(str, la.input_shape)),
            "x".join(map(str, la.output_shape)),
            f"{la.params:,}",
            f"{la.weight_bytes:,}",
            f"{la.macs:,}",
            f"{la.macs / macs:.1%}",
            f"{la.weight_bytes / wbytes:.1%}",
        ]
        for i, la in enumerate(layers)
    ]
    return [
        "",
        f"<details><summary>Per-layer analysis of <code>{row.variant}</code> "
        f"({row.graph.macs or 0:,} MACs)</summary>",
        "",
        tabulate(
            body,
            headers=[
                "#",
                "op",
                "input",
                "output",
                "params",
                "weight B",
                "MACs",
                "MACs %",
                "weights %",
            ],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        *op_table(row),
        "</details>",
    ]


def op_table(row: Row) -> list[str]:
    """Instructions per operator type beside its MACs: where the interpreter's time goes."""
    counts = row.instructions.tflm_instructions_by_op
    if not counts:
        return []
    macs: dict[str, int] = {}
    for la in row.graph.layers or []:
        macs[la.op] = macs.get(la.op, 0) + la.macs
    total = row.instructions.tflm_instructions or 1
    body = [
        [
            op,
            f"{n:,}",
            f"{n / total:.1%}",
            f"{macs.get(op, 0):,}",
            f"{n / macs[op]:.1f}" if macs.get(op) else "n/a",
        ]
        for op, n in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    return [
        f"TFLM instructions per inference by operator ({total:,} in all; "
        f"{row.instructions.tflm_instructions_tool}):",
        "",
        tabulate(
            body,
            headers=["op", "instructions", "share", "MACs", "instr / MAC"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]


def _counts(ops: dict) -> str:
    return ", ".join(f"{k} x{v}" for k, v in ops.items())


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:+.1%}"


def _used(row: dict) -> str:
    """Whether the fits use a published row: yes, a reference (other software), left out."""
    if "why" not in row:
        return "yes"
    return "reference" if row.get("kernels", "cmsis-nn") != "cmsis-nn" else "left out"


def calibration_section(res: dict) -> list[str]:
    cal = res.get("calibration")
    if not cal or "models" not in cal:
        return []
    rows = cal["rows"]
    body = [
        [
            text(r.get("benchmark", "ad").upper()),
            text(r["board"]),
            text(r["software"]),
            text(r.get("dtype", "")),
            f"{r['published_ms']:g}",
            f"{r['est_ms']:.3g}",
            _pct(r["error_ms"]),
            _pct(r["loo_error_ms"]),
            f"{r['published_uj']:g}" if "published_uj" in r else "",
            f"{r['est_uj']:.4g}" if "est_uj" in r else "",
            _pct(r.get("error_uj")),
            _used(r),
        ]
        for r in rows
    ]
    models = [
        f"- {text(m['name'])}: {m['macs_counted']:,} MACs counted "
        f"(published {m['macs_published']:,}),"
        f" {sum(m['ops'].values())} operators ({_counts(m['ops'])})"
        + (
            f", {m['tflm_instructions']:,} TFLM instructions per inference on the host"
            if m.get("tflm_instructions")
            else ""
        )
        for m in cal["models"].values()
    ]
    summary = []
    for bench in sorted({r.get("benchmark", "ad") for r in rows}):
        mine = [r for r in rows if r.get("benchmark", "ad") == bench and "why" not in r]
        loo = sorted(abs(r["loo_error_ms"]) for r in mine if r["loo_error_ms"] is not None)
        summary.append(
            f"- {text(bench.upper())}: in sample, "
            f"worst {max(abs(r['error_ms']) for r in mine):.1%}; "
            + (
                f"leave-one-out, median {loo[len(loo) // 2]:.1%}, worst {loo[-1]:.1%} over "
                f"{len(loo)} row{'s' if len(loo) != 1 else ''}"
                if loo
                else "no leave-one-out row"
            )
        )
    fixed = ", ".join(f"{k} {v:g}" for k, v in cal["fixed_cycles"].items())
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
        f"Catalog: `{Path(cal['catalog']).name}`; sources and the basis of every "
        "uncalibrated figure are in the file (`edgebench targets` lists it).",
    ]


PROTOCOLS = {
    "synthetic": "chronological split train/validation/test; anomalies only after training",
    "skab": "SKAB's: train on the anomaly-free run and rows 0-399 of each run, test on rows "
    "400 on; the anomaly-free run's last 20 % (normal) sets the threshold",
    "nab": "NAB's: train on each file's probationary period (first 15 %, at most 750 rows), "
    "its last 20 % (normal) sets the threshold; test on the rest against the label "
    "windows",
    "csv": "chronological 60/20/20 train/validation/test",
}


def dataset_section(res: dict) -> list[str]:
    data, cfg = results.dataset(res), res["config"]
    series = data.get("series", [])
    policies = sorted(
        {r.detection.threshold_policy for r in res["rows"] if r.detection.threshold_policy}
    )
    lines = [
        f"Dataset `{text(data.get('name'))}` ({len(series)} series, "
        f"{len(data.get('channels', []))} channel(s), {data.get('points', 0):,} points, "
        f"{data.get('anomalous_points', 0):,} anomalous). Protocol: "
        f"{PROTOCOLS.get(str(data.get('protocol')), 'n/a')}. Threshold policy "
        f"`{cfg['threshold']}` ({', '.join(policies) or 'n/a'}), from validation data "
        "only. Streaming: a point's score is that of the window ending at it."
    ]
    lines += [f"- warning: {text(w)}" for w in data.get("warnings", [])]
    board = data.get("leaderboard") or {}
    if board:
        figures = ", ".join(f"{k} {v}" for k, v in board["figures"].items())
        lines += [
            "",
            f"Others' published numbers, not measured here ({board['metric']}; "
            f"{board['source']}): {figures}. Compare with "
            f"`{schema.column(board.get('compare', 'point_f1'))[0]}` below, beside the "
            "baselines on the same points."
            + (
                " Those figures count the training rows, which the model has seen: the "
                "verdicts here use the test rows only (`point F1`, `FAR`)."
                if board.get("compare") in ALL_ROWS
                else ""
            ),
        ]
    return lines


ALL_ROWS = ("all_rows_point_f1", "all_rows_far", "all_rows_mar")


def _with_leaderboard(res: dict, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The figures the dataset's leaderboard compares with, where `columns` lacks them:
    SKAB's all-rows ones after `mar`, NAB's swept score after ours."""
    compare = (results.dataset(res).get("leaderboard") or {}).get("compare")
    extra: tuple[str, ...]
    if compare in ALL_ROWS:
        after, extra = "mar", ALL_ROWS
    elif compare and compare not in columns and "nab_score_standard" in columns:
        after, extra = "nab_score_standard", (compare,)
    else:
        return columns
    at = columns.index(after) + 1
    return (*columns[:at], *extra, *columns[at:])


def series_table(rows: list[Row]) -> list[str]:
    """Per-point F1 per series, when the dataset holds several."""
    names = list(dict.fromkeys(n for r in rows for n in (r.detection.per_series or {})))
    if not names:
        return []
    body = [
        [
            r.variant,
            *(
                f"{r.detection.per_series[n].point_f1:.3f}"
                if n in (r.detection.per_series or {})
                else "n/a"
                for n in names
            ),
        ]
        for r in rows
    ]
    return [
        "",
        "### Per series (point F1)",
        "",
        tabulate(body, headers=["variant", *names], tablefmt="github", disable_numparse=True),
    ]


def environment(res: dict) -> list[str]:
    m, project = res["machine"], res.get("project", {})
    commit = project.get("git_commit") or "unknown (not a git checkout)"
    if project.get("git_dirty"):
        commit += " with uncommitted changes"
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    mhz = f" at up to {m['cpu_mhz_max']:,.0f} MHz" if m.get("cpu_mhz_max") else ""
    return [
        "## Environment",
        "",
        f"- machine: {m['cpu']}{mhz}, {m['cores_physical']} physical / "
        f"{m['cores_logical']} logical cores, {m['memory_gib']} GiB; {m['platform']}",
        f"- Python {m['python']}; {packages}",
        f"- edgebench commit {commit}; code version {res['code_version']}",
        f"- run {res['created']}; machine fingerprint {m['fingerprint']} "
        "(timings are compared only between equal fingerprints)",
    ]


def reproducibility(res: dict) -> list[str]:
    cfg = res["config"]
    keys = [[r.label, r.id.cache_key or "", (r.id.sha256 or "")[:16]] for r in res["rows"]]
    return [
        "## Reproduce",
        "",
        "```sh",
        res["command"],
        "```",
        "",
        f"Seeds: stream {cfg['stream']['seed']}, training {cfg['train']['seed']}. Config:",
        "",
        "```json",
        json.dumps(cfg, indent=1, sort_keys=True),
        "```",
        "",
        "<details><summary>Cache keys and model hashes</summary>",
        "",
        tabulate(
            keys,
            headers=["variant", "cache key", "sha256 (first 16)"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        "</details>",
    ]


NOTES = [
    "## What the numbers mean",
    "",
    "- size: the .tflite flatbuffer in bytes (weights = buffers of constant tensors, "
    "other = graph, quantization parameters and metadata); gzip at level 9 shows what "
    "sparsity or clustering would save in a compressed download.",
    "- latency: host figures, not MCU ones. LiteRT: one thread, one window per `invoke()` "
    "after warm-up, only `invoke()` timed, default delegates as LiteRT applies them. TFLM: "
    "the host build of TFLM's reference kernels (no CMSIS-NN), a relative figure.",
    "- TFLM instr: instructions executed inside `MicroInterpreter::Invoke()` for one "
    "inference on a zero input, counted by valgrind (callgrind) on the tflite-micro "
    "package's host build (reference kernels): exact and repeatable, so it is the latency "
    "figure the gate holds; per operator in each per-layer analysis.",
    "- arena: the smallest `arena_size` (a multiple of 16 bytes) with which TFLite Micro "
    "allocates and invokes the model, found by bisection, each probe in a forked child; "
    "recorded = the RecordingMicroAllocator's total at a generous arena. These come from "
    "the 64-bit host build: the arena holds pointer-sized structs, so a 32-bit MCU needs "
    "the same or somewhat less. Weights stay in flash and are not in the arena.",
    "- windows/s: batched inference over 16,384 windows (quantize, invoke, dequantize).",
    "- board estimates: cycles = invoke overhead + per operator (a fixed cost + cycles per "
    "MAC of its class, dense or convolution, or per element for the rest), from the "
    "operators and MACs counted in the flatbuffer (int8 kernels when no operator computes "
    "in float, else float32); latency = cycles / clock; energy = latency x active power; "
    "battery life never beyond the battery's shelf life. Calibrated on published MLPerf "
    "Tiny AD and KWS measurements of the board's optimized kernels (CMSIS-NN or the "
    "vendor's; TFLM's reference kernels run ~2-3x slower) where the catalog has them "
    "(see the calibration section); `*` marks an estimate that uses an uncalibrated "
    "figure.",
    "- detection: point level first, as SKAB and NAB count: each test point takes the "
    "score of the window that ends at it (causal), read from its squared reconstruction "
    "errors (`--score`: the mean, the newest point's, or the largest of the newest k; "
    "the row says which and why); point precision, "
    "recall and F1 at the threshold chosen on validation data only; FAR = false alarms / "
    "normal points, MAR = missed / anomalous points; ROC-AUC and PR-AUC over all "
    "thresholds (scikit-learn); an event is a run of anomalous points, detected when an "
    "alarm falls inside it, with the delay in points to the first alarm; NAB's standard "
    "score from its published definition (null detector 0, perfect 100). Baselines on the "
    "same points: always alarm, random alarms at the variant's own alarm rate (expected "
    "F1), a rolling z-score of the newest point against its window with the threshold "
    "set the same way; a baseline that never alarms or alarms on half the normal points "
    "or more is marked degenerate and is never the best. Window F1 (a window is "
    "anomalous when any of its points is) "
    "flatters a detector that keeps alarming after a spike: it is kept for reference "
    "only. No point-adjusted F1 is reported.",
]


def _ci(row: Row, key: str, fmt: str = "{:.3f}") -> str:
    mean = row.value(f"{key}_mean")
    low, high = row.value(f"{key}_ci95_low"), row.value(f"{key}_ci95_high")
    return "" if mean is None else _spread(mean, low, high, fmt)


def seeds_section(rows: list[Row], constraints: Constraints) -> list[str]:
    """Over training seeds: means with their 95 % intervals, and the verdicts they allow."""
    have = [r for r in rows if r.seeds.seeds]
    if not have:
        return []
    body = [
        [
            r.arch,
            r.variant,
            _ci(r, "point_f1"),
            _ci(r, "far"),
            _ci(r, "point_f1_delta", "{:+.3f}"),
            r.seeds.f1_target_verdict or "",
            "within noise" if within_noise(r, constraints) else "",
        ]
        for r in have
    ]
    table = tabulate(
        body,
        headers=[
            "arch",
            "variant",
            "point F1 [95 %]",
            "FAR [95 %]",
            "dF1 vs float32 [95 %]",
            "F1 target",
            f"loss limit {constraints.max_f1_loss}",
        ],
        tablefmt="github",
        disable_numparse=True,
    )
    seeds = ", ".join(map(str, have[0].seeds.seeds or []))
    return [
        "",
        "## Across training seeds",
        "",
        f"Seeds {seeds}: each trained and built every variant anew and was scored on the same "
        "test points. Means with Student-t 95 % intervals; the answer above uses the means, "
        "and a loss whose interval straddles the limit is within noise: another seed could "
        "flip it. The tables above hold the first seed's measurements.",
        "",
        table,
    ]


def _why_list(rows: list[Row], key: str, title: str) -> list[str]:
    """A section listing each row's `key` (a reason), or nothing."""
    said = [f"- `{r.label}`: {text(r.value(key))}" for r in rows if r.value(key)]
    return ["", f"## {title}", "", *said] if said else []


def render(
    res: dict, constraints: Constraints | None = None, plots: dict[str, list[Path]] | None = None
) -> str:
    constraints = _constraints(res, constraints)
    lines = ["# edgebench report", "", *dataset_section(res), "", *summary(res, constraints)]
    for arch, rows in _arches(res).items():
        lines += ["", f"## Architecture `{arch}` (window {rows[0].id.window or 'n/a'})", ""]
        lines += [f"![{p.stem}](plots/{p.name})" for p in (plots or {}).get(arch, [])]
        for title, columns in TABLES.items():
            lead = baseline_rows(res, arch) if title.startswith("Detection") else []
            columns = _with_leaderboard(res, columns) if lead else columns
            lines += ["", f"### {title}", "", variant_table(rows, columns, lead)]
        lines += noise_table(rows)
        lines += series_table(rows)
        lines += firmware_tables.section(rows)
        lines += board_tables(res, rows)
        shown = _shipped(res, arch, rows, constraints)
        lines += layer_table(shown)
    lines += seeds_section(res["rows"], constraints)
    targets = target_table(res["rows"])
    if targets:
        lines += ["", "## F1 targets against float32 (same arch, same test stream)", "", targets]
    refused = [r for r in res["rows"] if r.tflm.tflm_deployable is False]
    if refused:
        lines += [
            "",
            "## Not deployable on TFLite Micro",
            "",
            "Every other metric is still measured.",
            "",
            *(f"- `{r.label}`: {_in_words(r, r.tflm.tflm_error)}" for r in refused),
            "",
            "<details><summary>TFLite Micro's own words</summary>",
            "",
            *(f"- `{r.label}`: {text(r.tflm.tflm_error)}" for r in refused),
            "",
            "</details>",
        ]
    lines += detection_warnings(res["rows"])
    lines += _why_list(res["rows"], "recipe_skipped", "Recipes that do not apply")
    lines += _why_list(res["rows"], "detection_skipped", "Detection not measured")
    lines += _why_list(
        res["rows"],
        "litert_xnnpack_refused",
        "Run on LiteRT's built-in kernels: XNNPACK refused them (host latency and detection)",
    )
    problems = failures(res["rows"])
    if problems:
        lines += ["", "## Variants that failed", "", *problems]
    calibration = calibration_section(res)
    if calibration:
        lines += ["", *calibration]
    figure = next(iter((plots or {}).get("(calibration)", [])), None)
    lines += firmware_tables.calibration(res, figure.name if figure else None)
    stages = sorted(res["stages_s"].items(), key=lambda kv: kv[0] == "total")
    lines += [
        "",
        *NOTES,
        "",
        "## Run time",
        "",
        tabulate(stages, headers=["stage", "wall s"], tablefmt="github", floatfmt=".2f"),
        "",
        *environment(res),
        "",
        *reproducibility(res),
        "",
    ]
    return "\n".join(lines)


def write(
    res: dict, out: Path, constraints: Constraints | None = None, cache: Cache | None = None
) -> Path:
    """Figures first, then REPORT.md that links them; both from `res` alone (`cache`: where
    figures that show no timing may come from, `plots.write_all`)."""
    from bench.plots import write_all  # matplotlib: only once there is a report to draw

    constraints = _constraints(res, constraints)
    shipped = {arch: _shipped(res, arch, rows, constraints) for arch, rows in _arches(res).items()}
    plots = write_all(res, Path(out), shipped, cache)
    path = Path(out) / "REPORT.md"
    write_text_atomic(path, render(res, constraints, plots))
    return path
