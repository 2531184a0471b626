"""Table cells and whole tables of rows, formatted as the schema says."""

from collections.abc import Sequence

from tabulate import tabulate

from bench import schema
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


def cell(row: Row, key: str, fmt: str, best: object) -> str:
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
    body = [[cell(r, key, fmt, None) for _, key, fmt, _ in columns] for r in lead]
    body += [[cell(r, key, fmt, best.get(key)) for _, key, fmt, _ in columns] for r in rows]
    return tabulate(body, headers=[c[0] for c in columns], tablefmt="github", disable_numparse=True)


def verdict_text(said: str | None) -> str:
    return "n/a" if said is None else "**MISSED**" if said == "missed" else said


def paired_interval(row: Row) -> tuple[float | None, float | None]:
    return (
        row.vs_float32.point_f1_delta_vs_float32_low,
        row.vs_float32.point_f1_delta_vs_float32_high,
    )


def spread_cell(value: float | None, low: float | None, high: float | None, fmt: str) -> str:
    """`0.781 [0.702, 0.850]`; the value alone without an interval."""
    if value is None:
        return "n/a"
    if low is None or high is None:
        return fmt.format(value)
    return f"{fmt.format(value)} [{fmt.format(low)}, {fmt.format(high)}]"


DELTA = "point_f1_delta_vs_float32"


def estimate(value: float, low: float | None, high: float | None) -> str:
    """`1.23 [1.05-1.45]`: an estimate with its 90 % interval, where it has one."""
    return f"{value:.3g}" + ("" if low is None or high is None else f" [{low:.3g}-{high:.3g}]")


def counts_text(ops: dict) -> str:
    return ", ".join(f"{k} x{v}" for k, v in ops.items())


def pct(value: float | None) -> str:
    return "" if value is None else f"{value:+.1%}"


def ci_cell(row: Row, key: str, fmt: str = "{:.3f}") -> str:
    mean = row.value(f"{key}_mean")
    low, high = row.value(f"{key}_ci95_low"), row.value(f"{key}_ci95_high")
    return "" if mean is None else spread_cell(mean, low, high, fmt)
