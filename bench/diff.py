"""`edgebench diff A.json B.json`: two runs side by side, per variant and metric.

Pure data first (`compare`), then text (`render`): a change is better or worse by the
schema's sense of the metric; a metric whose measurement conditions differ between the
two rows is shown as not comparable, with the first differing condition, as the gate
does.
"""

from dataclasses import dataclass
from typing import Any

from tabulate import tabulate

from bench import results, schema
from bench.gate import incomparable
from bench.schema import Row, label_of

METRICS = (
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
    best = schema.info(metric)["best"] if metric in schema.FIELDS else None
    if a is None or b is None or best is None:
        return "changed"
    return "better" if (b < a) == (best == "min") else "worse"


def compare(a: dict, b: dict) -> list[Change]:
    """Every variant of either run, every metric (and the estimate on each common board)."""
    rows_a: dict[tuple, Row] = {r.key: r for r in a["rows"]}
    rows_b: dict[tuple, Row] = {r.key: r for r in b["rows"]}
    boards = [k for k in results.boards(a) if k in results.boards(b)]
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
        for metric in METRICS:
            why = incomparable(metric, ra, rb)
            va, vb = ra.value(metric), rb.value(metric)
            sense = "not comparable" if why else _sense(metric, va, vb)
            found.append(Change(name, metric, va, vb, sense, why or ""))
        for board in boards:
            va, vb = ra.boards.latency_ms(board), rb.boards.latency_ms(board)
            found.append(Change(name, f"est ms @ {board}", va, vb, _faster(va, vb)))
    return found


def _faster(a: float | None, b: float | None) -> str:
    if a == b:
        return "same"
    if a is None or b is None:
        return "changed"
    return "better" if b < a else "worse"


COLOURS = {"better": "\033[32m", "worse": "\033[31m", "not comparable": "\033[33m"}


def _show(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:,.4g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def render(changes: list[Change], colour: bool = False, all_rows: bool = False) -> str:
    """A table of the changes (and, with `all_rows`, of what stayed the same)."""
    body = []
    for c in changes:
        if c.sense == "same" and not all_rows:
            continue
        delta = ""
        if isinstance(c.a, int | float) and isinstance(c.b, int | float) and c.a:
            delta = f"{(c.b - c.a) / abs(c.a):+.1%}"
        sense = c.sense + (f" ({c.note})" if c.note else "")
        if colour and c.sense in COLOURS:
            sense = f"{COLOURS[c.sense]}{sense}\033[0m"
        body.append([c.variant, c.metric, _show(c.a), _show(c.b), delta, sense])
    if not body:
        return "no difference in any compared metric"
    return tabulate(
        body,
        headers=["variant", "metric", "A", "B", "change", "verdict"],
        tablefmt="github",
        disable_numparse=True,
    )
