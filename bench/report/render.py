"""REPORT.md from a results dict alone: no model is loaded or run here."""

from pathlib import Path

from tabulate import tabulate

from bench.cache import Cache, write_text_atomic
from bench.choose import Constraints
from bench.markup import text
from bench.report import firmware
from bench.report.answer import baseline_rows, by_arch, chosen_constraints, shipped_row, summary
from bench.report.boards import board_tables, calibration_section
from bench.report.cells import TABLES, variant_table
from bench.report.data import dataset_section
from bench.report.detection import (
    detection_warnings,
    failures,
    in_words,
    noise_table,
    seeds_section,
    series_table,
    target_table,
    why_list,
    with_leaderboard,
)
from bench.report.environment import NOTES, environment, reproducibility
from bench.report.model import layer_table
from bench.schema import Results


def render(
    res: Results, constraints: Constraints | None = None, plots: dict[str, list[Path]] | None = None
) -> str:
    constraints = chosen_constraints(res, constraints)
    lines = ["# edgebench report", "", *dataset_section(res), "", *summary(res, constraints)]
    for arch, rows in by_arch(res).items():
        lines += ["", f"## Architecture `{arch}` (window {rows[0].id.window or 'n/a'})", ""]
        lines += [f"![{p.stem}](plots/{p.name})" for p in (plots or {}).get(arch, [])]
        for title, columns in TABLES.items():
            lead = baseline_rows(res, arch) if title.startswith("Detection") else []
            columns = with_leaderboard(res, columns) if lead else columns
            lines += ["", f"### {title}", "", variant_table(rows, columns, lead)]
        lines += noise_table(rows)
        lines += series_table(rows)
        lines += firmware.section(rows)
        lines += board_tables(res, rows)
        shown = shipped_row(res, arch, rows, constraints)
        lines += layer_table(shown)
    lines += seeds_section(res.rows, constraints)
    targets = target_table(res.rows)
    if targets:
        lines += ["", "## F1 targets against float32 (same arch, same test stream)", "", targets]
    refused = [r for r in res.rows if r.tflm.tflm_deployable is False]
    if refused:
        lines += [
            "",
            "## Not deployable on TFLite Micro",
            "",
            "Every other metric is still measured.",
            "",
            *(f"- `{r.label}`: {in_words(r, r.tflm.tflm_error or '')}" for r in refused),
            "",
            "<details><summary>TFLite Micro's own words</summary>",
            "",
            *(f"- `{r.label}`: {text(r.tflm.tflm_error)}" for r in refused),
            "",
            "</details>",
        ]
    lines += detection_warnings(res.rows)
    lines += why_list(res.rows, "recipe_skipped", "Recipes that do not apply")
    lines += why_list(res.rows, "detection_skipped", "Detection not measured")
    lines += why_list(
        res.rows,
        "litert_xnnpack_refused",
        "Run on LiteRT's built-in kernels: XNNPACK refused them (host latency and detection)",
    )
    problems = failures(res.rows)
    if problems:
        lines += ["", "## Variants that failed", "", *problems]
    calibration = calibration_section(res)
    if calibration:
        lines += ["", *calibration]
    figure = next(iter((plots or {}).get("(calibration)", [])), None)
    lines += firmware.calibration(res, figure.name if figure else None)
    stages = sorted(res.stages_s.items(), key=lambda kv: kv[0] == "total")
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
    res: Results, out: Path, constraints: Constraints | None = None, cache: Cache | None = None
) -> Path:
    """Figures first, then REPORT.md that links them; both from `res` alone (`cache`: where
    figures that show no timing may come from, `plots.write_all`)."""
    from bench.plots import write_all  # matplotlib: only once there is a report to draw

    constraints = chosen_constraints(res, constraints)
    shipped = {
        arch: shipped_row(res, arch, rows, constraints) for arch, rows in by_arch(res).items()
    }
    plots = write_all(res, Path(out), shipped, cache)
    path = Path(out) / "REPORT.md"
    write_text_atomic(path, render(res, constraints, plots))
    return path
