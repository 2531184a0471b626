"""REPORT.md from a results dict alone: no model is loaded or run here."""

import json
from pathlib import Path

from tabulate import tabulate

from bench.choose import Constraints, pareto, recommend
from bench.plots import write_all
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


def _arches(res: dict) -> dict[str, list[dict]]:
    arches = {}
    for row in res["rows"]:
        arches.setdefault(row["arch"], []).append(row)
    return arches


def _constraints(res: dict, override: Constraints | None) -> Constraints:
    return override or Constraints(**res["config"].get("constraints", {}))


def summary(res: dict, constraints: Constraints) -> list[str]:
    """The answer first: what to ship per arch, the Pareto front, and what could not run."""
    lines = ["## Summary: which variant to ship", "",
             f"Constraints: {constraints}. Among the variants that meet them, the smallest "
             "flatbuffer is recommended (flash is the scarcest resource), then the best F1.", ""]
    body = []
    for arch, rows in _arches(res).items():
        best = recommend(rows, constraints)
        front = ", ".join(f"`{r['variant']}`" for r in pareto(rows)) or "n/a"
        if best is None:
            body.append([arch, "**none qualifies**", "", "", "", "", front])
            continue
        body.append([arch, f"**{best['variant']}**", f"{best['size_bytes']:,}",
                     _cell(best, "arena_bytes", "{:,}", None),
                     _cell(best, "latency_us_p50", "{:.2f}", None),
                     f"{best['f1']:.3f} ({best['f1_delta_vs_float32'] or 0:+.3f})", front])
    lines.append(tabulate(body, headers=["arch", "recommended", "size B", "arena B",
                                         "LiteRT p50 us", "F1 (vs float32)",
                                         "Pareto-optimal over size, latency, F1"],
                          tablefmt="github", disable_numparse=True))
    out = [f"- `{r['arch']}/{r['variant']}`: {why}" for r in res["rows"]
           if (why := constraints.rejects(r)) and why.startswith(("failed", "not deployable"))]
    if out:
        lines += ["", "Could not be considered:", "", *out]
    return lines


def environment(res: dict) -> list[str]:
    m, project = res["machine"], res.get("project", {})
    commit = project.get("git_commit") or "unknown (not a git checkout)"
    if project.get("git_dirty"):
        commit += " with uncommitted changes"
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    mhz = f" at up to {m['cpu_mhz_max']:,.0f} MHz" if m.get("cpu_mhz_max") else ""
    return ["## Environment", "",
            f"- machine: {m['cpu']}{mhz}, {m['cores_physical']} physical / "
            f"{m['cores_logical']} logical cores, {m['memory_gib']} GiB; {m['platform']}",
            f"- Python {m['python']}; {packages}",
            f"- edgebench commit {commit}; code version {res['code_version']}",
            f"- run {res['created']}; machine fingerprint {m['fingerprint']} "
            "(timings are compared only between equal fingerprints)"]


def reproducibility(res: dict) -> list[str]:
    cfg = res["config"]
    keys = [[f"{r['arch']}/{r['variant']}", r.get("cache_key", ""), r.get("sha256", "")[:16]]
            for r in res["rows"]]
    return ["## Reproduce", "", "```sh", res["command"], "```", "",
            f"Seeds: stream {cfg['stream']['seed']}, training {cfg['train']['seed']}. Config:",
            "", "```json", json.dumps(cfg, indent=1, sort_keys=True), "```", "",
            "<details><summary>Cache keys and model hashes</summary>", "",
            tabulate(keys, headers=["variant", "cache key", "sha256 (first 16)"],
                     tablefmt="github", disable_numparse=True), "", "</details>"]


NOTES = [
    "## What the numbers mean",
    "",
    "- size: the .tflite flatbuffer in bytes (weights = buffers of constant tensors, "
    "other = graph, quantization parameters and metadata); gzip at level 9 shows what "
    "sparsity or clustering would save in a compressed download.",
    "- latency: host figures, not MCU ones. LiteRT: one thread, one window per `invoke()` "
    "after warm-up, only `invoke()` timed, default delegates as LiteRT applies them. TFLM: "
    "the host build of TFLM's reference kernels (no CMSIS-NN), a relative figure.",
    "- arena: the smallest `arena_size` (a multiple of 16 bytes) with which TFLite Micro "
    "allocates and invokes the model, found by bisection, each probe in a forked child; "
    "recorded = the RecordingMicroAllocator's total at a generous arena. These come from "
    "the 64-bit host build: the arena holds pointer-sized structs, so a 32-bit MCU needs "
    "the same or somewhat less. Weights stay in flash and are not in the arena.",
    "- windows/s: batched inference over 16,384 windows (quantize, invoke, dequantize).",
    "- detection: F1, precision, recall at the threshold chosen on validation windows, "
    "measured on test windows; ROC-AUC and PR-AUC over all thresholds (scikit-learn). "
    "A window is anomalous when any of its points is; its score is the reconstruction MSE.",
]


def render(res: dict, constraints: Constraints | None = None,
           plots: dict[str, list[Path]] | None = None) -> str:
    constraints = _constraints(res, constraints)
    data, cfg = res.get("dataset", {}), res["config"]
    lines = [
        "# edgebench report",
        "",
        f"Dataset `{data.get('name')}`: {data.get('points', 0):,} points, chronological split "
        f"train/validation/test at {data.get('train_end')}/{data.get('val_end')}, "
        f"{data.get('anomalous_points', 0):,} anomalous points (none in training). "
        f"Threshold policy `{cfg['threshold']}` on validation windows only.",
        "",
        *summary(res, constraints),
    ]
    for arch, rows in _arches(res).items():
        lines += ["", f"## Architecture `{arch}` (window {rows[0]['window'] or 'n/a'})", ""]
        lines += [f"![{p.stem}](plots/{p.name})" for p in (plots or {}).get(arch, [])]
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
    stages = sorted(res["stages_s"].items(), key=lambda kv: kv[0] == "total")
    lines += ["", *NOTES, "", "## Run time", "",
              tabulate(stages, headers=["stage", "wall s"], tablefmt="github", floatfmt=".2f"),
              "", *environment(res), "", *reproducibility(res), ""]
    return "\n".join(lines)


def write(res: dict, out: Path, constraints: Constraints | None = None) -> Path:
    """Figures first, then REPORT.md that links them; both from `res` alone."""
    constraints = _constraints(res, constraints)
    recommended = {arch: recommend(rows, constraints) for arch, rows in _arches(res).items()}
    plots = write_all(res, Path(out), {a: r for a, r in recommended.items() if r})
    path = Path(out) / "REPORT.md"
    write_text_atomic(path, render(res, constraints, plots))
    return path
