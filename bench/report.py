"""REPORT.md from a results dict alone: no model is loaded or run here."""

import json
from pathlib import Path

from tabulate import tabulate

from bench.results import write_text_atomic

# Per table: (header, row key, format, which value is best: "min", "max" or None)
TABLES = {
    "Size": (
        ("variant", "variant", "{}", None),
        ("size B", "size_bytes", "{:,}", "min"),
        ("x float32", "size_ratio_vs_float32", "{:.2f}", None),
        ("gzip B", "size_gzip_bytes", "{:,}", "min"),
        ("weights B", "size_data_bytes", "{:,}", "min"),
        ("other B", "size_nondata_bytes", "{:,}", None),
        ("params", "params", "{:,}", None),
        ("arena B", "arena_bytes", "{:,}", "min"),
        ("build s", "build_seconds", "{:.1f}", None),
    ),
    "Speed (host)": (
        ("variant", "variant", "{}", None),
        ("LiteRT p50 us", "latency_us_p50", "{:.2f}", "min"),
        ("LiteRT p99 us", "latency_us_p99", "{:.2f}", "min"),
        ("windows/s", "throughput_windows_per_s", "{:,.0f}", "max"),
        ("TFLM p50 us", "tflm_latency_us_p50", "{:.2f}", "min"),
        ("TFLM p99 us", "tflm_latency_us_p99", "{:.2f}", "min"),
    ),
    "Detection (test windows)": (
        ("variant", "variant", "{}", None),
        ("F1", "f1", "{:.3f}", "max"),
        ("dF1 vs float32", "f1_delta_vs_float32", "{:+.3f}", None),
        ("precision", "precision", "{:.3f}", "max"),
        ("recall", "recall", "{:.3f}", "max"),
        ("ROC-AUC", "roc_auc", "{:.3f}", "max"),
        ("PR-AUC", "pr_auc", "{:.3f}", "max"),
        ("threshold", "threshold", "{:.3g}", None),
    ),
    "Compression": (
        ("variant", "variant", "{}", None),
        ("lineage", "lineage", "{}", None),
        ("params", "params", "{:,}", "min"),
        ("x float32 params", "params_ratio_vs_float32", "{:.2f}", None),
        ("sparsity", "sparsity", "{:.1%}", None),
        ("gzip B", "size_gzip_bytes", "{:,}", "min"),
        ("unique weights, max per layer", "weight_unique_values", "{}", None),
        ("max per channel", "weight_unique_per_channel_max", "{:,}", None),
        ("float compute ops", "float_compute_ops", "{}", None),
        ("build s", "build_seconds", "{:.1f}", None),
    ),
    "TFLite Micro": (
        ("variant", "variant", "{}", None),
        ("deployable", "tflm_deployable", "{}", None),
        ("arena B", "arena_bytes", "{:,}", "min"),
        ("recorded B", "arena_recorded_bytes", "{:,}", None),
        ("max abs score diff vs LiteRT", "tflm_score_max_abs_diff", "{:.2g}", None),
        ("decisions differ", "tflm_decisions_differ", "{:,}", None),
        ("ops", "ops", "{}", None),
        ("search s", "arena_search_seconds", "{:.2f}", None),
    ),
}


def _format(value, fmt: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, dict):
        return ", ".join(f"{k} x{v}" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return f"{max(value):,}" if value else "n/a"
    return fmt.format(value)


def _cell(row, key, fmt, best):
    value = row.get(key)
    if value is None:
        return "n/a"
    text = _format(value, fmt)
    return f"**{text}**" if best is not None and value == best else text


def variant_table(rows: list[dict], columns) -> str:
    """One line per variant; the best value of each column in bold."""
    best = {}
    for _, key, _, rule in columns:
        values = [r[key] for r in rows if r.get(key) is not None]
        if rule and values:
            best[key] = min(values) if rule == "min" else max(values)
    body = [[_cell(r, key, fmt, best.get(key)) for _, key, fmt, _ in columns] for r in rows]
    return tabulate(body, headers=[c[0] for c in columns], tablefmt="github",
                    disable_numparse=True)


def target_table(rows: list[dict]) -> str:
    """Each promised F1 target with its verdict; a missed one is said plainly."""
    body = [[f"{r['arch']}/{r['variant']}", r["f1_target"], f"{r['f1']:.3f}",
             f"{r['f1_delta_vs_float32']:+.3f}", f"{r['f1_ratio_vs_float32']:.3f}",
             "met" if r["f1_target_met"] else "**MISSED**"]
            for r in rows if r.get("f1_target") and r.get("f1_target_met") is not None]
    if not body:
        return ""
    return tabulate(body, headers=["variant", "target", "F1", "dF1", "F1 ratio", "verdict"],
                    tablefmt="github", disable_numparse=True)


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
        lines += ["", f"## Architecture `{arch}` (window {rows[0]['window'] or 'n/a'})"]
        for title, columns in TABLES.items():
            lines += ["", f"### {title}", "", variant_table(rows, columns)]
    targets = target_table(res["rows"])
    if targets:
        lines += ["", "## F1 targets against float32 (same arch, same test stream)", "",
                  targets]
    refused = [f"- `{r['arch']}/{r['variant']}`: {r['tflm_error']}"
               for r in res["rows"] if r.get("tflm_deployable") is False]
    if refused:
        lines += ["", "## Not deployable on TFLite Micro", "",
                  "Every other metric is still measured; TFLM's own reason:", "", *refused]
    skipped = [f"- `{r['arch']}/{r['variant']}`: {r['detection_skipped']}"
               for r in res["rows"] if r.get("detection_skipped")]
    if skipped:
        lines += ["", "## Detection not measured", "", *skipped]
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
        "- arena: the smallest `arena_size` (a multiple of 16 bytes) with which TFLite Micro "
        "allocates and invokes the model, found by bisection, each probe in a forked child; "
        "recorded = the RecordingMicroAllocator's total at a generous arena. These come from "
        "the 64-bit host build: the arena holds pointer-sized structs, so a 32-bit MCU needs "
        "the same or somewhat less. Weights stay in flash and are not in the arena.",
        "- TFLM latency: the host build of TFLM's reference kernels (no CMSIS-NN), one window "
        "per `invoke()`: a relative figure, not an MCU time.",
        "- windows/s: batched inference over 16,384 windows (quantize, invoke, dequantize).",
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
