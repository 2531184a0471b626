"""The data the run measured on, and its protocol."""

from bench import schema
from bench.markup import text
from bench.report.detection import ALL_ROWS
from bench.schema import Results

PROTOCOLS = {
    "synthetic": "chronological split train/validation/test; anomalies only after training",
    "skab": "SKAB's: train on the anomaly-free run and rows 0-399 of each run, test on rows "
    "400 on; the anomaly-free run's last 20 % (normal) sets the threshold",
    "nab": "NAB's: train on each file's probationary period (first 15 %, at most 750 rows), "
    "its last 20 % (normal) sets the threshold; test on the rest against the label "
    "windows",
    "csv": "chronological 60/20/20 train/validation/test",
}


def dataset_section(res: Results) -> list[str]:
    data = res.dataset
    policies = sorted(
        {r.detection.threshold_policy for r in res.rows if r.detection.threshold_policy}
    )
    lines = [
        f"Dataset `{text(data.name)}` ({len(data.series)} series, "
        f"{len(data.channels)} channel(s), {data.points:,} points, "
        f"{data.anomalous_points:,} anomalous). Protocol: "
        f"{PROTOCOLS.get(str(data.protocol), 'n/a')}. Threshold policy "
        f"`{res.setting('threshold')}` ({', '.join(policies) or 'n/a'}), from validation "
        "data only. Streaming: a point's score is that of the window ending at it."
    ]
    lines += [f"- warning: {text(w)}" for w in data.warnings]
    board = data.leaderboard
    if board is not None and board.figures:
        figures = ", ".join(f"{k} {v}" for k, v in board.figures.items())
        lines += [
            "",
            f"Others' published numbers, not measured here ({board.metric}; "
            f"{board.source}): {figures}. Compare with "
            f"`{schema.column(board.compare or 'point_f1')[0]}` below, beside the "
            "baselines on the same points."
            + (
                " Those figures count the training rows, which the model has seen: the "
                "verdicts here use the test rows only (`point F1`, `FAR`)."
                if board.compare in ALL_ROWS
                else ""
            ),
        ]
    return lines
