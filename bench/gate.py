"""Regression gates: compare a results file with a baseline and with budgets.

Pure data in, findings out; printing is `render`. The metrics gated and how come from
the schema (`schema.gated()`). Two rows are compared on a metric only when their
measurement conditions agree on what that metric depends on; otherwise the verdict is
`not comparable`, naming the first condition that differs. Deterministic metrics gate
exactly (within a stated allowance); latency gates statistically: a regression needs
the ratio of medians beyond a factor AND a significant Mann-Whitney U test on the raw
samples (and the machine is one of the conditions of a timing).
"""

import fnmatch
import math
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
from tabulate import tabulate

from bench import InvalidResults, files, schema
from bench.schema import CONTROL, Results, Row

PASS, FAIL, NOISE, SKIP, NOT_COMPARABLE = "ok", "FAIL", "~", "skip", "not comparable"


@dataclass(frozen=True)
class Tolerances:
    size_allowance_bytes: int = 0
    arena_allowance_bytes: int = 0
    instructions_allowance_ratio: float = 0.0  # of the baseline's count
    f1_tolerance: float = 0.005
    latency_factor: float = 1.10  # wall clock (opt-in): the shift's whole interval beyond it
    alpha: float = 0.05  # of that interval (1 - alpha confidence)
    min_blocks: int = 10  # independent block medians per side needed for a verdict


BUDGET_KEYS = {
    "max_size_bytes",
    "max_arena_bytes",
    "min_point_f1",
    "max_far",
    "max_latency_us_p50",
    "max_est_latency_ms",
}


@dataclass(frozen=True)
class Finding:
    metric: str
    variant: str
    baseline: object
    now: object
    change: str
    verdict: str
    note: str = ""


def _rows(res: Results) -> dict[tuple, Row]:
    return {r.key: r for r in res.rows}


def _change(base: float | None, now: float | None) -> str:
    if base is None or now is None:
        return ""
    delta = now - base
    pct = f" ({delta / base:+.1%})" if base else ""
    return f"{delta:+,.4g}{pct}"


def _upper(metric: str, name: str, base: float, now: float, allowance: float) -> Finding:
    """A metric that must not grow beyond baseline + allowance."""
    ok = now <= base + allowance
    return Finding(
        metric,
        name,
        base,
        now,
        _change(base, now),
        PASS if ok else FAIL,
        "" if ok else f"grew beyond the allowance of {allowance:,}",
    )


def _missing(metric: str, name: str, base: object) -> Finding:
    return Finding(metric, name, base, None, "", FAIL, "in the baseline, missing now")


def incomparable(metric: str, base_row: Row, row: Row) -> str | None:
    """The first condition `metric` depends on that differs between the rows, if any."""
    a, b = base_row.id.conditions, row.id.conditions
    for key in schema.record_of(metric).DEPENDS_ON:
        was, now = getattr(a, key, None), getattr(b, key, None)
        if was != now:
            return f"{key} {was} -> {now}"
    return None


def _unmeasured_in_baseline(metric: str, base_row: Row) -> bool:
    """The baseline says why it has no value: TFLM could not run its model, or no count."""
    record = schema.record_of(metric)
    if record is schema.Tflm and metric != "tflm_deployable":
        return not base_row.tflm.tflm_deployable
    if record is schema.Instructions:
        return bool(base_row.instructions.tflm_instructions_error)
    if metric == "point_pr_auc":  # None: its test part held one class, as its warnings say
        return base_row.detection.point_pr_auc is None
    return False


def judge(metric: str, base_row: Row, row: Row, tol: Tolerances) -> Finding | None:
    """One gated metric of one row against its baseline row; None when the baseline did
    not measure it (its step did not run, or null with its reason in the row)."""
    meta, name = schema.info(metric), row.label
    rule = meta["gate"]
    key = meta["samples"] if rule == "timing" else metric
    if not base_row.holding(key).measured() or _unmeasured_in_baseline(metric, base_row):
        return None
    base, now = base_row.value(metric), row.value(metric)
    if base_row.value(key) in (None, []):
        return Finding(
            metric,
            name,
            None,
            now,
            "",
            FAIL,
            "the baseline holds no value to gate against: regenerate it",
        )
    why = incomparable(metric, base_row, row)
    if why is not None:
        sha = row.id.sha256
        same = " (same model)" if sha is not None and sha == base_row.id.sha256 else ""
        return Finding(metric, name, base, now, "", NOT_COMPARABLE, why + same)
    if rule == "timing":
        return timing(metric, meta["samples"], base_row, row, tol)
    if rule == "true":
        return _still_true(metric, base, row)
    if now is None:
        return _missing(metric, name, base)
    return _bounded(metric, (base_row, row), meta, tol)


def _still_true(metric: str, base: object, row: Row) -> Finding | None:
    """A flag that held in the baseline (TFLM ran the model) must hold now."""
    now = row.value(metric)
    if base is not True:
        return None
    if now is True:
        return Finding(metric, row.label, True, now, "", PASS)
    why = (row.tflm.tflm_error or "no longer deployable on TFLM")[:200]
    return Finding(metric, row.label, True, now, "", FAIL, why)


def _bounded(metric: str, rows: tuple[Row, Row], meta: dict, tol: Tolerances) -> Finding:
    """A figure that must not grow (`max`) or fall (`min`) beyond its allowance."""
    base_row, row = rows
    name, base, now = row.label, base_row.value(metric), row.value(metric)
    allowance = getattr(tol, meta["allowance"]) if meta["allowance"] else 0
    if meta["allowance"] and meta["allowance"].endswith("_ratio"):
        allowance = base * allowance
    if meta["gate"] == "max":
        found = _upper(metric, name, base, now, allowance)
        if found.verdict == FAIL and meta["breakdown"]:
            found = replace(found, note=found.note + _grew(base_row, row, meta["breakdown"]))
        return found
    ok = now >= base - allowance
    note = "" if ok else f"fell by more than {allowance}"
    return Finding(metric, name, base, now, _change(base, now), PASS if ok else FAIL, note)


def _grew(base_row: Row, row: Row, breakdown: str) -> str:
    """`; FULLY_CONNECTED +12,288`: the part that grew most."""
    base, now = base_row.value(breakdown) or {}, row.value(breakdown) or {}
    growth = {k: now.get(k, 0) - base.get(k, 0) for k in {*base, *now}}
    if not growth:
        return ""
    part = max(growth, key=lambda k: growth[k])
    return f"; {part} {growth[part]:+,}" if growth[part] > 0 else ""


def blocks(samples: list[float], count: int) -> np.ndarray:
    """Medians of `count` consecutive blocks: neighbouring invokes share the machine's
    state, blocks far apart much less; these are the independent samples."""
    parts = np.array_split(np.asarray(samples, dtype=np.float64), count)
    return np.array([np.median(p) for p in parts if len(p)])


def hodges_lehmann(base: np.ndarray, now: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """The shift of log(now) over log(base) as a ratio, with its distribution-free
    (1 - alpha) interval from the order statistics of the pairwise differences."""
    diffs = np.sort(np.subtract.outer(np.log(now), np.log(base)).ravel())
    n, m = len(now), len(base)
    z = NormalDist().inv_cdf(1 - alpha / 2)
    k = max(0, int(np.floor(n * m / 2 - z * np.sqrt(n * m * (n + m + 1) / 12))))
    low, high = diffs[min(k, len(diffs) - 1)], diffs[max(len(diffs) - 1 - k, 0)]
    return float(np.exp(np.median(diffs))), float(np.exp(low)), float(np.exp(high))


def timing(metric: str, samples_key: str, base_row: Row, row: Row, tol: Tolerances) -> Finding:
    """Wall clock: a regression needs the whole interval of the shift beyond the factor."""
    base, now = base_row.value(samples_key), row.value(samples_key)
    name = row.label
    if not now:
        return _missing(metric, name, base_row.value(metric))
    base_med, now_med = float(np.median(base)), float(np.median(now))
    count = min(len(base), len(now)) // 10
    if count < tol.min_blocks:
        ratio = now_med / base_med if base_med else float("inf")
        return Finding(
            metric,
            name,
            base_med,
            now_med,
            f"x{ratio:.2f}",
            NOISE,
            f"too few samples for a verdict (need {10 * tol.min_blocks} per side)",
        )
    ratio, low, high = hodges_lehmann(blocks(base, count), blocks(now, count), tol.alpha)
    change = f"x{ratio:.2f} [{low:.2f}, {high:.2f}]"
    if low > tol.latency_factor:
        verdict, note = FAIL, f"slower by more than x{tol.latency_factor}, interval included"
    elif ratio > tol.latency_factor:
        verdict, note = NOISE, "beyond the factor, but its interval is not"
    else:
        verdict, note = PASS, ""
    return Finding(metric, name, base_med, now_med, change, verdict, note)


def compare(
    res: Results, baseline: Results, tol: Tolerances = Tolerances(), wall_clock: bool = False
) -> list[Finding]:
    """Every baseline row against the same row now, on every gated metric of the schema
    (wall-clock timings only when asked); a vanished row fails."""
    now_rows, found = _rows(res), []
    metrics = [m for m in schema.gated() if wall_clock or schema.info(m)["gate"] != "timing"]
    for key, base_row in _rows(baseline).items():
        row = now_rows.get(key)
        if row is None:
            found.append(
                Finding(
                    "row",
                    base_row.label,
                    "present",
                    None,
                    "",
                    FAIL,
                    "in the baseline, missing now",
                )
            )
            continue
        found += [f for m in metrics if (f := judge(m, base_row, row, tol)) is not None]
        found += firmware(base_row, row, tol)
    return found


# each core's firmware figure -> the allowance that loosens it
FIRMWARE = {
    "instructions": "instructions_allowance_ratio",
    "flash_bytes": "size_allowance_bytes",
    "ram_bytes": "arena_allowance_bytes",
}


def firmware(base_row: Row, row: Row, tol: Tolerances) -> list[Finding]:
    """On-target instructions, flash and RAM per core, exactly (within the allowances). A
    machine without the cross toolchain skips them; a firmware that fails now fails."""
    found = []
    for core, base in (base_row.firmware.firmware or {}).items():
        now = row.firmware.on(core)
        for figure, allowance in FIRMWARE.items():
            metric, was = f"firmware {core} {figure}", getattr(base, figure)
            if now is None:
                found.append(_no_firmware(metric, row, core, was))
                continue
            why = incomparable("firmware", base_row, row)
            if why is not None:
                found.append(Finding(metric, row.label, was, None, "", NOT_COMPARABLE, why))
                continue
            slack = getattr(tol, allowance)
            slack = was * slack if allowance.endswith("_ratio") else slack
            found.append(_upper(metric, row.label, was, getattr(now, figure), slack))
        if now is not None and base.output_matches_host and not now.output_matches_host:
            found.append(_output_differs(core, row, now.output_max_abs_diff))
    return found


def _output_differs(core: str, row: Row, diff: float) -> Finding:
    metric, note = f"firmware {core} output_matches_host", f"max |diff| {diff:g} from host TFLM"
    return Finding(metric, row.label, True, False, "", FAIL, note)


def _no_firmware(metric: str, row: Row, core: str, was: int) -> Finding:
    unavailable = row.firmware.firmware_error or ""
    if unavailable.startswith("unavailable"):
        return Finding(metric, row.label, was, None, "", SKIP, unavailable)
    why = (row.firmware.firmware_errors or {}).get(core) or unavailable or "no firmware now"
    return Finding(metric, row.label, was, None, "", FAIL, why[:200])


def budgets(res: Results, table: dict[str, dict]) -> list[Finding]:
    """Absolute limits per variant pattern (`deep/int8`, `*/int8`, `*`)."""
    if not res.rows:
        raise InvalidResults("the results hold no rows: nothing to gate")
    rows: list[Row] = res.rows
    boards = {b for r in rows for b in r.boards.boards or {}} | set(res.boards)
    found = []
    for pattern, limits in table.items():
        matched = [r for r in rows if fnmatch.fnmatchcase(r.label, pattern)]
        if not matched:
            labels = sorted({r.label for r in rows})
            have = ", ".join(labels[:6]) + (
                f" and {len(labels) - 6} more" if len(labels) > 6 else ""
            )
            raise InvalidResults(f"budget {pattern!r} matches no row (the results hold {have})")
        board = (limits.get("max_est_latency_ms") or {}).get("board")
        if board is not None and board not in boards:
            known = ", ".join(sorted(boards))
            raise InvalidResults(f"budget {pattern!r}: no board {board!r} (known: {known})")
        found += [_budget(row, key, limit) for row in matched for key, limit in limits.items()]
    return found


def _budget(row: Row, key: str, limit: Any) -> Finding:
    name = row.label
    if key == "max_est_latency_ms":  # met only by the upper end of the 90 % interval
        board, limit = limit["board"], limit["ms"]
        now, metric = row.boards.latency_ms_high(board), f"est_latency_ms_high@{board}"
        if now is None and row.boards.latency_ms(board) is not None:
            why = "its estimate has no interval (an uncalibrated figure): not shown to be met"
            return Finding(metric, name, f"budget {limit:,}", None, "", FAIL, why)
    else:
        metric = key.removeprefix("max_").removeprefix("min_")
        now = row.value(metric)
    if now is None:
        return Finding(metric, name, limit, None, "", FAIL, f"budget {key}: no value in results")
    ok = now >= limit if key.startswith("min_") else now <= limit
    return Finding(
        metric,
        name,
        f"budget {limit:,}",
        now,
        "",
        PASS if ok else FAIL,
        "" if ok else f"outside the budget {key} = {limit:,}",
    )


def load_gates(
    path: Path | None, pyproject: Path = Path("pyproject.toml")
) -> tuple[Tolerances, dict[str, dict]]:
    """Tolerances and budgets from a budgets file, else [tool.edgebench.gates]."""
    if path is not None:
        table, where = _toml(path, "budgets file"), str(path)
    elif pyproject.is_file():
        where = f"{pyproject} [tool.edgebench.gates]"
        table = _toml(pyproject, "pyproject.toml")
        for key in ("tool", "edgebench", "gates"):
            table = table.get(key, {})
            if not isinstance(table, dict):
                raise InvalidResults(f"{where}: [{key}] must be a table")
    else:
        return Tolerances(), {}
    return _check_gates(table, where)


def _toml(path: Path, what: str) -> dict:
    text = files.read_text(path, what, InvalidResults)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InvalidResults(f"{path}: not a readable {what} ({err})") from None


def _check_gates(table: dict, where: str) -> tuple[Tolerances, dict[str, dict]]:
    unknown = set(table) - {"tolerances", "budgets"}
    if unknown:
        raise InvalidResults(
            f"{where}: unknown section(s) {', '.join(sorted(unknown))}; "
            'use [tolerances] and [budgets."ARCH/VARIANT"]'
        )
    tols = _tolerances(table.get("tolerances", {}), where)
    budget_table = table.get("budgets", {})
    if not isinstance(budget_table, dict):
        raise InvalidResults(f'{where}: [budgets] must hold tables [budgets."ARCH/VARIANT"]')
    for pattern, limits in budget_table.items():
        _check_budget(pattern, limits, where)
    return Tolerances(**tols), budget_table


def _tolerances(tols: object, where: str) -> dict:
    known = {f.name for f in fields(Tolerances)}
    if not isinstance(tols, dict):
        raise InvalidResults(f"{where}: [tolerances] must be a table of numbers")
    for name, value in tols.items():
        if name in known and not (_finite(value) and value >= 0):
            raise InvalidResults(
                f"{where}: tolerance {name} = {value!r} must be a finite number >= 0"
            )
    if tols.get("latency_factor", 1) < 1 or not 0 < tols.get("alpha", 0.05) < 1:
        raise InvalidResults(f"{where}: latency_factor must be >= 1 and alpha in (0, 1)")
    if set(tols) - known:
        unknown = set(tols) - known
        raise InvalidResults(
            f"{where}: unknown tolerance(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    return tols


def _check_budget(pattern: object, limits: object, where: str) -> None:
    """One `[budgets."ARCH/VARIANT"]` table: known keys, numbers in range, a board."""
    bad = set(limits) - BUDGET_KEYS if isinstance(limits, dict) else {"(not a table)"}
    if bad or not isinstance(limits, dict):
        raise InvalidResults(
            f"{where}: budget {pattern!r} has unknown key(s) "
            f"{', '.join(sorted(bad))}; known: {', '.join(sorted(BUDGET_KEYS))}"
        )
    if not isinstance(pattern, str) or pattern.count("/") > 1 or CONTROL.search(pattern):
        raise InvalidResults(f'{where}: budget {pattern!r} is not "ARCH/VARIANT" (* allowed)')
    for key, value in limits.items():
        if key != "max_est_latency_ms" and not _in_range(key, value):
            top = " and <= 1" if key in RATIOS else ""
            raise InvalidResults(
                f"{where}: budget {pattern!r}: {key} = {value!r} must be a finite number >= 0{top}"
            )
    est = limits.get("max_est_latency_ms")
    if est is not None and (
        not isinstance(est, dict)
        or set(est) != {"board", "ms"}
        or not isinstance(est["board"], str)
        or not _in_range("ms", est["ms"])
    ):
        raise InvalidResults(
            f"{where}: budget {pattern!r}: max_est_latency_ms takes "
            '{ board = "NAME", ms = NUMBER }'
        )


def _finite(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


RATIOS = {"min_point_f1", "max_far"}  # budgets on figures between 0 and 1


def _in_range(key: str, value: object) -> bool:
    top = 1 if key in RATIOS else math.inf
    return _finite(value) and 0 <= value <= top  # type: ignore[operator]


SEVERITY = {FAIL: 0, NOT_COMPARABLE: 1, NOISE: 2, SKIP: 3, PASS: 4}


def render(findings: list[Finding]) -> str:
    """The findings as a table, failures first."""
    findings = sorted(findings, key=lambda f: SEVERITY.get(f.verdict, 9))

    def show(value: object) -> str:
        return (
            f"{value:,.4g}"
            if isinstance(value, float)
            else (
                f"{value:,}"
                if isinstance(value, int) and not isinstance(value, bool)
                else ""
                if value is None
                else str(value)
            )
        )

    body = [
        [f.metric, f.variant, show(f.baseline), show(f.now), f.change, f.verdict, f.note]
        for f in findings
    ]
    return tabulate(
        body,
        headers=["metric", "variant", "baseline", "now", "change", "verdict", "note"],
        tablefmt="github",
        disable_numparse=True,
    )


def verdict(findings: list[Finding]) -> int:
    """Exit code: 1 when any finding failed, else 0."""
    return 1 if any(f.verdict == FAIL for f in findings) else 0
