"""`edgebench diff A.json B.json`: two runs side by side, per variant and metric.

Pure data first (`compare`), then text (`render`): a change is better or worse by the
schema's sense of the metric; a metric whose measurement conditions differ between the
two rows is shown as not comparable, with the first differing condition, as the gate
does.
"""

from dataclasses import dataclass, replace
from typing import Any

from tabulate import tabulate

from bench import gate, schema
from bench.gate import incomparable
from bench.schema import Results, Row, label_of

METRICS = (
    "tflm_deployable",
    "size_bytes",
    "arena_bytes",
    "tflm_instructions",
    "latency_us_p50",
    "point_f1",
    "far",
    "nab_score_standard",
)


@dataclass(frozen=True)
class Change:
    variant: str
    metric: str
    a: object
    b: object
    sense: str  # "better", "worse", "same", "changed", "not comparable", "only in A/B"
    note: str = ""


def _sense(metric: str, a: Any, b: Any) -> str:
    if a == b:
        return "same"
    if isinstance(a, bool) and isinstance(b, bool):  # deployability: a flip says which way
        return "better" if b else "worse"
    best = schema.info(metric)["best"] if metric in schema.FIELDS else None
    if a is None or b is None or best is None:
        return "changed"
    return "better" if (b < a) == (best == "min") else "worse"


def _timing(metric: str, ra: Row, rb: Row) -> tuple[str, str]:
    """(sense, note) of a wall-clock median by the gate's test: slower or faster only
    when the whole interval of the shift lies beyond the gate's factor."""
    samples, tol = schema.info(metric)["samples"], gate.Tolerances()
    if not ra.value(samples) or not rb.value(samples):
        return _sense(metric, ra.value(metric), rb.value(metric)), ""
    slower = gate.timing(metric, samples, ra, rb, tol)
    faster = gate.timing(metric, samples, rb, ra, tol)
    if slower.verdict == gate.FAIL:
        return "worse", slower.change
    if faster.verdict == gate.FAIL:
        return "better", faster.change
    if ra.value(metric) == rb.value(metric):
        return "same", ""
    return "same", f"within noise, {slower.change}"


FLIPS: dict[tuple[object, object], str] = {
    (True, False): "no longer deployable on TFLM",
    (False, True): "now deployable on TFLM",
}


def compare(a: Results, b: Results) -> list[Change]:
    """Every variant of either run, every metric (and the estimate on each common board)."""
    rows_a: dict[tuple, Row] = {r.key: r for r in a.rows}
    rows_b: dict[tuple, Row] = {r.key: r for r in b.rows}
    boards = [k for k in a.boards if k in b.boards]
    found = []
    for key in dict.fromkeys([*rows_a, *rows_b]):
        name = label_of(key[1], key[2])
        ra, rb = rows_a.get(key), rows_b.get(key)
        if ra is None or rb is None:
            found.append(
                Change(
                    name,
                    "row",
                    ra is not None,
                    rb is not None,
                    "only in A" if rb is None else "only in B",
                )
            )
            continue
        found += [_change(name, metric, ra, rb) for metric in METRICS]
        for board in boards:
            va, vb = ra.boards.latency_ms(board), rb.boards.latency_ms(board)
            was, now = basis(ra, board), basis(rb, board)
            if was != now:  # another method, not another model: neither better nor worse
                change = Change(name, f"est ms @ {board}", va, vb, "not comparable")
                found.append(replace(change, note=f"basis: {was} -> {now}"))
            else:
                found.append(Change(name, f"est ms @ {board}", va, vb, _faster(va, vb)))
    return found


def basis(row: Row, board: str) -> str:
    """What `row`'s estimate on `board` rests on: the firmware (which build of it), or the
    host proxies (MACs and the flatbuffer)."""
    est = row.boards.get(board)
    if est is None or est.basis is None:
        return "MACs and the flatbuffer"
    if not est.basis.startswith("firmware"):
        return est.basis
    return f"{est.basis}, {row.firmware.firmware_tool or 'unknown build'}"


def _change(name: str, metric: str, ra: Row, rb: Row) -> Change:
    va, vb = ra.value(metric), rb.value(metric)
    why = incomparable(metric, ra, rb)
    if why:
        return Change(name, metric, va, vb, "not comparable", why)
    if schema.info(metric)["gate"] == "timing":
        return Change(name, metric, va, vb, *_timing(metric, ra, rb))
    return Change(name, metric, va, vb, _sense(metric, va, vb), FLIPS.get((va, vb), ""))


def _faster(a: float | None, b: float | None) -> str:
    if a == b:
        return "same"
    if a is None or b is None:
        return "changed"
    return "better" if b < a else "worse"


COLOURS = {"better": "\033[32m", "worse": "\033[31m", "not comparable": "\033[33m"}


def _show(value: object) -> str:
    """Integers as integers, other numbers to 4 significant digits, never in exponents."""
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


SENSES = ("worse", "better", "changed", "not comparable", "only in A", "only in B")


def summary(changes: list[Change]) -> str:
    """`3 worse, 1 better, ...` over the compared variants and metrics, first line."""
    counts = {s: sum(c.sense == s for c in changes) for s in SENSES}
    flips = sum(bool(FLIPS.get((c.a, c.b))) for c in changes if c.metric == "tflm_deployable")
    said = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no difference"
    rows = len({c.variant for c in changes})
    flipped = f"; {flips} deployability flip(s)" if flips else ""
    return f"{rows} variant(s), {len(changes)} comparisons: {said}{flipped}"


def _delta(a: object, b: object) -> str:
    """The relative change of a number (not of a flag)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return ""
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not a:
        return ""
    return f"{(b - a) / abs(a):+.1%}"


def render(changes: list[Change], colour: bool = False, all_rows: bool = False) -> str:
    """A table of the changes (and, with `all_rows`, of what stayed the same)."""
    body = []
    for c in changes:
        if c.sense == "same" and not all_rows:
            continue
        delta = _delta(c.a, c.b)
        sense = c.sense + (f" ({c.note})" if c.note else "")
        if colour and c.sense in COLOURS:
            sense = f"{COLOURS[c.sense]}{sense}\033[0m"
        body.append([c.variant, c.metric, _show(c.a), _show(c.b), delta, sense])
    if not body:
        return summary(changes) + "\n\nno difference in any compared metric"
    return (
        summary(changes)
        + "\n\n"
        + tabulate(
            body,
            headers=["variant", "metric", "A", "B", "change", "verdict"],
            tablefmt="github",
            disable_numparse=True,
        )
    )
