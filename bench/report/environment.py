"""Where and how the run happened, and how to reproduce it."""

import json

from tabulate import tabulate

from bench.schema import Results


def environment(res: Results) -> list[str]:
    m = res.machine
    commit = res.project.git_commit or "unknown (not a git checkout)"
    if res.project.git_dirty:
        commit += " with uncommitted changes"
    packages = ", ".join(f"{k} {v}" for k, v in m.packages.items() if v)
    mhz = f" at up to {m.cpu_mhz_max:,.0f} MHz" if m.cpu_mhz_max else ""
    return [
        "## Environment",
        "",
        f"- machine: {m.cpu}{mhz}, {m.cores_physical} physical / "
        f"{m.cores_logical} logical cores, {m.memory_gib} GiB; {m.platform}",
        f"- Python {m.python}; {packages}",
        f"- edgebench commit {commit}; code version {res.code_version}",
        f"- run {res.created}; machine fingerprint {m.fingerprint} "
        "(timings are compared only between equal fingerprints)",
    ]


def reproducibility(res: Results) -> list[str]:
    cfg = res.config
    keys = [[r.label, r.id.cache_key or "", (r.id.sha256 or "")[:16]] for r in res.rows]
    return [
        "## Reproduce",
        "",
        "```sh",
        res.command or "",
        "```",
        "",
        "Seeds: stream {}, training {}. Config:".format(*res.seeds()),
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
