"""Detection: targets, noise, per-series and per-seed tables, and what could not be measured."""

from tabulate import tabulate

from bench.advice import advice
from bench.choose import (
    Constraints,
    within_noise,
)
from bench.markup import text
from bench.report.cells import cell, ci_cell, paired_interval, spread_cell, verdict_text
from bench.schema import Results, Row


def target_table(rows: list[Row]) -> str:
    """Each promised point-F1 target with its verdict on the point difference and on the
    paired interval; a missed one is said plainly."""
    body = [
        [
            r.label,
            r.id.f1_target,
            cell(r, "point_f1", "{:.3f}", None),
            spread_cell(r.vs_float32.point_f1_delta_vs_float32, *paired_interval(r), "{:+.3f}"),
            cell(r, "point_f1_ratio_vs_float32", "{:.3f}", None),
            "met" if r.vs_float32.f1_target_met else "**MISSED**",
            verdict_text(r.vs_float32.f1_target_judged),
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
                spread_cell(d.point_f1, d.point_f1_boot_low, d.point_f1_boot_high, "{:.3f}"),
                spread_cell(d.far, d.far_boot_low, d.far_boot_high, "{:.3f}"),
                spread_cell(
                    d.event_recall, d.event_recall_boot_low, d.event_recall_boot_high, "{:.2f}"
                ),
                spread_cell(
                    d.nab_score_standard,
                    d.nab_score_standard_boot_low,
                    d.nab_score_standard_boot_high,
                    "{:.1f}",
                ),
                spread_cell(
                    None
                    if d.point_f1 is None or d.baseline_best_point_f1 is None
                    else d.point_f1 - d.baseline_best_point_f1,
                    d.point_f1_delta_vs_baseline_low,
                    d.point_f1_delta_vs_baseline_high,
                    "{:+.3f}",
                )
                + f" {d.vs_baseline or ''}",
                spread_cell(v.point_f1_delta_vs_float32, *paired_interval(r), "{:+.3f}"),
                spread_cell(
                    v.point_f1_matched_delta_vs_float32,
                    v.point_f1_matched_delta_vs_float32_low,
                    v.point_f1_matched_delta_vs_float32_high,
                    "{:+.3f}",
                ),
                cell(r, "score_rank_correlation", "{:.3f}", None),
                cell(r, "decision_agreement", "{:.3f}", None),
                cell(r, "point_pr_auc_delta_vs_float32", "{:+.3f}", None),
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


def in_words(row: Row, why: str) -> str:
    words = row.tflm.tflm_advice or advice(row.tflm.tflm_error)
    return f"not deployable on TFLite Micro ({text(words)})" if words else text(why)


def detection_warnings(rows: list[Row]) -> list[str]:
    said = [f"- `{r.label}`: {text(w)}" for r in rows for w in r.detection.detection_warnings or []]
    return ["", "## Detection warnings", "", *said] if said else []


ALL_ROWS = ("all_rows_point_f1", "all_rows_far", "all_rows_mar")


def with_leaderboard(res: Results, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The figures the dataset's leaderboard compares with, where `columns` lacks them:
    SKAB's all-rows ones after `mar`, NAB's swept score after ours."""
    board = res.dataset.leaderboard
    compare = board.compare if board else None
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


def seeds_section(rows: list[Row], constraints: Constraints) -> list[str]:
    """Over training seeds: means with their 95 % intervals, and the verdicts they allow."""
    have = [r for r in rows if r.seeds.seeds]
    if not have:
        return []
    body = [
        [
            r.arch,
            r.variant,
            ci_cell(r, "point_f1"),
            ci_cell(r, "far"),
            ci_cell(r, "point_f1_delta", "{:+.3f}"),
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


def why_list(rows: list[Row], key: str, title: str) -> list[str]:
    """A section listing each row's `key` (a reason), or nothing."""
    said = [f"- `{r.label}`: {text(r.value(key))}" for r in rows if r.value(key)]
    return ["", f"## {title}", "", *said] if said else []
