"""REPORT.md from a results dict alone: no model is loaded or run here."""

import json
from pathlib import Path

from tabulate import tabulate

from bench.results import write_text_atomic

# (header, row key, format, which value is best: "min", "max" or None)
COLUMNS = (
    ("variant", "variant", "{}", None),
    ("size B", "size_bytes", "{:,}", "min"),
    ("x float32", "size_ratio_vs_float32", "{:.2f}", None),
    ("gzip B", "size_gzip_bytes", "{:,}", "min"),
    ("weights B", "size_data_bytes", "{:,}", "min"),
    ("other B", "size_nondata_bytes", "{:,}", None),
    ("params", "params", "{:,}", None),
    ("p50 us", "latency_us_p50", "{:.2f}", "min"),
    ("p99 us", "latency_us_p99", "{:.2f}", "min"),
    ("windows/s", "throughput_windows_per_s", "{:,.0f}", "max"),
    ("F1", "f1", "{:.3f}", "max"),
    ("dF1 vs float32", "f1_delta_vs_float32", "{:+.3f}", None),
    ("precision", "precision", "{:.3f}", "max"),
    ("recall", "recall", "{:.3f}", "max"),
    ("ROC-AUC", "roc_auc", "{:.3f}", "max"),
    ("PR-AUC", "pr_auc", "{:.3f}", "max"),
    ("build s", "build_seconds", "{:.1f}", None),
)


def _cell(row, key, fmt, best):
    value = row.get(key)
    if value is None:
        return "n/a"
    text = fmt.format(value)
    return f"**{text}**" if best is not None and value == best else text


def variant_table(rows: list[dict]) -> str:
    """One line per variant; the best value of each column in bold."""
    best = {}
    for _, key, _, rule in COLUMNS:
        values = [r[key] for r in rows if r.get(key) is not None]
        if rule and values:
            best[key] = min(values) if rule == "min" else max(values)
    body = [[_cell(r, key, fmt, best.get(key)) for _, key, fmt, _ in COLUMNS] for r in rows]
    return tabulate(body, headers=[c[0] for c in COLUMNS], tablefmt="github",
                    disable_numparse=True)


def failures(rows: list[dict]) -> list[str]:
    return [f"- `{r['arch']}/{r['variant']}` {stage}: {why}"
            for r in rows for stage, why in r.get("errors", {}).items()]


def render(res: dict) -> str:
    cfg, data, machine = res["config"], res.get("dataset", {}), res["machine"]
    lines = [
        "# edgebench report",
        "",
        f"Made {res['created']} by `{res['command']}` (code {res['code_version']}).",
        "",
        f"Dataset `{data.get('name')}`: {data.get('points', 0):,} points, chronological split "
        f"train/validation/test at {data.get('train_end')}/{data.get('val_end')}, "
        f"{data.get('anomalous_points', 0):,} anomalous points (none in training). "
        f"Threshold policy `{cfg['threshold']}` on validation windows only; "
        "scores are reconstruction MSE per window; a window is anomalous if any of its points is.",
    ]
    for arch in dict.fromkeys(r["arch"] for r in res["rows"]):
        rows = [r for r in res["rows"] if r["arch"] == arch]
        lines += ["", f"## Architecture `{arch}` (window {rows[0]['window']})", "",
                  variant_table(rows)]
    problems = failures(res["rows"])
    if problems:
        lines += ["", "## Variants that failed", "", *problems]
    lines += [
        "",
        "## What the numbers mean",
        "",
        "- size: the .tflite flatbuffer in bytes (weights = buffers of constant tensors, "
        "other = graph, quantization parameters and metadata); "
        "gzip at level 9 shows what sparsity or clustering would save in a compressed download.",
        f"- latency: host LiteRT {machine['packages'].get('ai-edge-litert')}, one thread, one "
        f"window per invoke after warm-up, {cfg['latency_samples']} samples, only `invoke()` "
        "timed; default delegates as LiteRT applies them. These are host figures, not MCU ones.",
        "- windows/s: batched scoring of 16,384 windows (quantize, invoke, dequantize, MSE).",
        "- F1, precision, recall at the validation threshold on test windows; ROC-AUC and "
        "PR-AUC over all thresholds (scikit-learn).",
        "",
        "## Run",
        "",
        tabulate(sorted(res["stages_s"].items(), key=lambda kv: kv[0] == "total"),
                 headers=["stage", "wall s"], tablefmt="github", floatfmt=".2f"),
        "",
        f"Machine: {machine['cpu']}, {machine['cores_logical']} logical cores, "
        f"{machine['platform']}, Python {machine['python']} (fingerprint "
        f"{machine['fingerprint']}).",
        "",
        f"Config: `{json.dumps(cfg, sort_keys=True)}`",
        "",
    ]
    return "\n".join(lines)


def write(res: dict, out: Path) -> Path:
    path = Path(out) / "REPORT.md"
    write_text_atomic(path, render(res))
    return path
