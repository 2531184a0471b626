"""The records of how well a model detects, and how it compares: detection,
agreement between runtimes, board estimates, against float32, over seeds."""

from dataclasses import dataclass

from bench.schema.base import Record, metric
from bench.schema.parts import MODEL_SHAPE, TRAINING, BoardEstimate, SeriesDetection


@dataclass
class Detection(Record):
    """Quality on the test part, threshold from validation only: point level first."""

    DEPENDS_ON = (*MODEL_SHAPE, *TRAINING, "threshold", "score", "litert", "code_detection")

    point_precision: float = metric(
        "ratio", "each point scored by the window ending at it", "point P", "{:.3f}", "max"
    )
    point_recall: float = metric("ratio", label="point R", fmt="{:.3f}", best="max")
    point_f1: float = metric(
        "ratio",
        "the primary figure",
        "point F1",
        "{:.3f}",
        "max",
        gate="min",
        allowance="f1_tolerance",
    )
    point_f1_boot_low: float | None = metric(
        "ratio", "95 % block-bootstrap interval over the test points (see `bootstrap`)"
    )
    point_f1_boot_high: float | None = metric("ratio")
    far: float | None = metric("ratio", "false alarms / normal points", "FAR", "{:.3f}", "min")
    far_boot_low: float | None = metric("ratio")
    far_boot_high: float | None = metric("ratio")
    mar: float | None = metric("ratio", "missed / anomalous points", "MAR", "{:.3f}", "min")
    all_rows_point_f1: float | None = metric(
        "ratio",
        "point F1 over every row of each tested series, training rows included (scored "
        "in-sample): SKAB's leaderboard counts this way",
        "all-rows F1",
        "{:.3f}",
        "max",
    )
    all_rows_far: float | None = metric(
        "ratio", "FAR over every row, training rows included", "all-rows FAR", "{:.3f}", "min"
    )
    all_rows_mar: float | None = metric(
        "ratio", "MAR over every row, training rows included", "all-rows MAR", "{:.3f}", "min"
    )
    point_roc_auc: float | None = metric("ratio", "of point scores", "ROC-AUC", "{:.3f}", "max")
    point_pr_auc: float | None = metric(
        "ratio",
        "of point scores; threshold-free, so gated beside point F1",
        "PR-AUC",
        "{:.3f}",
        "max",
        gate="min",
        allowance="f1_tolerance",
    )
    alarm_rate: float = metric("ratio", "alarmed test points / test points", "alarm rate", "{:.3f}")
    events: int = metric("count", "runs of anomalous points", "events", "{:,}")
    event_recall: float | None = metric("ratio", label="event recall", fmt="{:.2f}", best="max")
    event_recall_boot_low: float | None = metric("ratio")
    event_recall_boot_high: float | None = metric("ratio")
    detection_delay_mean: float | None = metric(
        "points", label="delay pts", fmt="{:.1f}", best="min"
    )
    false_alarms_per_1000: float | None = metric(
        "per 1000 normal points", label="false alarms /1000", fmt="{:.1f}", best="min"
    )
    nab_score_standard: float | None = metric(
        "score 0-100",
        "NAB's standard profile (null detector 0, perfect 100)",
        "NAB std",
        "{:.1f}",
        "max",
    )
    nab_score_standard_boot_low: float | None = metric("score 0-100")
    nab_score_standard_boot_high: float | None = metric("score 0-100")
    nab_score_standard_swept: float | None = metric(
        "score 0-100",
        "the best standard score over every threshold on the test points, as NAB's runner "
        "sweeps it over the corpus: comparable with NAB's scoreboard; chosen on the points "
        "it scores, so a ceiling, never a verdict",
        "NAB std swept",
        "{:.1f}",
    )
    nab_score_low_fp: float | None = metric(
        "score 0-100", "NAB's reward-low-FP profile", "NAB low FP", "{:.1f}", "max"
    )
    nab_score_low_fn: float | None = metric(
        "score 0-100", "NAB's reward-low-FN profile", "NAB low FN", "{:.1f}", "max"
    )
    baseline_random_point_f1: float = metric(
        "ratio",
        "expected point F1 of random alarms at this model's alarm rate",
        "random at rate",
        "{:.3f}",
    )
    baseline_best: str = metric(doc="the baseline with the best point F1 on these points")
    baseline_best_point_f1: float = metric("ratio", label="best baseline F1", fmt="{:.3f}")
    baseline_best_far: float | None = metric(
        "ratio", "the best baseline's FAR on these points", "best baseline FAR", "{:.3f}"
    )
    point_f1_delta_vs_baseline_low: float | None = metric(
        "ratio", "paired 95 % interval of point F1 minus the best baseline's"
    )
    point_f1_delta_vs_baseline_high: float | None = metric("ratio")
    vs_baseline: str | None = metric(
        doc="above, below, or within noise: where that paired interval lies against 0",
        label="vs baseline",
    )
    baseline_informative: str | None = metric(
        doc="the best learned-free baseline that is a detector (neither constant nor alarming "
        "on half the normal points): the one whose false alarms license a variant's"
    )
    baseline_informative_point_f1: float | None = metric(
        "ratio", label="informative baseline F1", fmt="{:.3f}"
    )
    baseline_informative_far: float | None = metric(
        "ratio", label="informative baseline FAR", fmt="{:.3f}"
    )
    point_f1_delta_vs_informative_low: float | None = metric(
        "ratio", "paired 95 % interval of point F1 minus the informative baseline's"
    )
    point_f1_delta_vs_informative_high: float | None = metric("ratio")
    bootstrap: str | None = metric(doc="the block bootstrap behind every interval here")
    detection_warnings: list[str] = metric(doc="why a figure here is not to be trusted")
    window_precision: float = metric(
        "ratio", "window level: a window is anomalous if any of its points is", "window P", "{:.3f}"
    )
    window_recall: float = metric("ratio", "window level", "window R", "{:.3f}")
    window_f1: float = metric(
        "ratio", "window level (flatters: see point F1)", "window F1", "{:.3f}"
    )
    window_roc_auc: float | None = metric("ratio", "window level", "window ROC-AUC", "{:.3f}")
    window_pr_auc: float | None = metric("ratio", "window level", "window PR-AUC", "{:.3f}")
    per_series: dict[str, SeriesDetection] = metric()
    threshold: float = metric(
        "score", "the score above which a window alarms (see window_score)", "threshold", "{:.3g}"
    )
    threshold_policy: str = metric()
    window_score: str | None = metric(
        doc="how a window's reconstruction errors make its score: mean, last or max:k",
        label="score",
    )
    score_choice: str | None = metric(doc="why this score: given, or chosen on validation")
    validation_point_pr_auc: float | None = metric(
        "ratio", "point PR-AUC on validation, what `--score auto` chooses on"
    )
    test_windows: int = metric("count")
    test_anomalous_windows: int = metric("count")
    test_scores: list[float] = metric("score", "per test window, 4 significant digits")


@dataclass
class Agreement(Record):
    """Do TFLM and LiteRT score the test windows alike?"""

    DEPENDS_ON = (*Detection.DEPENDS_ON, "tflite_micro", "code_tflm")

    tflm_score_max_abs_diff: float = metric(
        "score", label="max abs score diff vs LiteRT", fmt="{:.2g}"
    )
    tflm_decisions_differ: int = metric(
        "count", "test windows alarmed by one runtime only", "decisions differ", "{:,}"
    )


@dataclass
class Boards(Record):
    DEPENDS_ON = (*MODEL_SHAPE, "code_size")

    boards: dict[str, BoardEstimate] = metric(doc="board key -> estimate")

    def get(self, board: str) -> BoardEstimate | None:
        return (self.boards or {}).get(board)

    def latency_ms(self, board: str) -> float | None:
        """The estimated latency on `board`, or None without an estimate there."""
        est = self.get(board)
        return None if est is None else est.est_latency_ms

    def latency_ms_high(self, board: str) -> float | None:
        """The upper end of its 90 % interval, or None without one."""
        est = self.get(board)
        return None if est is None else est.est_latency_ms_high


@dataclass
class VsFloat32(Record):
    """Against float32 of the same arch and dataset."""

    DEPENDS_ON = Detection.DEPENDS_ON

    point_f1_delta_vs_float32: float | None = metric("ratio", label="dF1 vs float32", fmt="{:+.3f}")
    point_f1_ratio_vs_float32: float | None = metric("ratio")
    size_ratio_vs_float32: float | None = metric("ratio", label="x float32", fmt="{:.2f}")
    params_ratio_vs_float32: float | None = metric("ratio", label="x float32 params", fmt="{:.2f}")
    f1_target_met: bool | None = metric(doc="the recipe's promise, on point F1")
    point_f1_delta_vs_float32_low: float | None = metric(
        "ratio", "paired 95 % block-bootstrap interval of point F1 minus float32's"
    )
    point_f1_delta_vs_float32_high: float | None = metric("ratio")
    f1_target_judged: str | None = metric(
        doc="the recipe's promise on that paired interval: met, missed or within noise",
        label="F1 target",
    )
    point_f1_matched_delta_vs_float32: float | None = metric(
        "ratio",
        "point F1 minus float32's, alarming on as many test points as float32 did (the "
        "highest scores): the models' difference, not their thresholds'",
        "dF1 at float32's alarms",
        "{:+.3f}",
    )
    point_f1_matched_delta_vs_float32_low: float | None = metric(
        "ratio", "its paired 95 % block-bootstrap interval"
    )
    point_f1_matched_delta_vs_float32_high: float | None = metric("ratio")
    score_rank_correlation: float | None = metric(
        "correlation",
        "Spearman's, of the test scores with float32's",
        "rank corr vs float32",
        "{:.3f}",
        "max",
    )
    decision_agreement: float | None = metric(
        "ratio",
        "share of test points decided as float32 did, alarming on as many (its highest)",
        "agreement vs float32",
        "{:.3f}",
        "max",
    )
    point_pr_auc_delta_vs_float32: float | None = metric(
        "ratio", "threshold-free", "dPR-AUC", "{:+.3f}"
    )
    point_roc_auc_delta_vs_float32: float | None = metric(
        "ratio", "threshold-free", "dROC-AUC", "{:+.3f}"
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


@dataclass
class Seeds(Record):
    """Over training seeds (`--seeds`): each seed trains and builds the variant anew and
    is scored on the same test points; 95 % intervals are Student-t over the seeds."""

    DEPENDS_ON = Detection.DEPENDS_ON

    seeds: list[int] | None = metric(
        doc="the training seeds; the row's other figures are the first's"
    )
    point_f1_by_seed: list[float | None] | None = metric("ratio")
    point_f1_mean: float | None = metric("ratio", label="point F1 mean", fmt="{:.3f}")
    point_f1_std: float | None = metric("ratio", doc="sample standard deviation over seeds")
    point_f1_ci95_low: float | None = metric("ratio")
    point_f1_ci95_high: float | None = metric("ratio")
    far_by_seed: list[float | None] | None = metric("ratio")
    far_mean: float | None = metric("ratio", label="FAR mean", fmt="{:.3f}")
    far_ci95_low: float | None = metric("ratio")
    far_ci95_high: float | None = metric("ratio")
    point_f1_delta_mean: float | None = metric(
        "ratio", "against float32 of the same seed", "dF1 mean", "{:+.3f}"
    )
    point_f1_delta_ci95_low: float | None = metric("ratio")
    point_f1_delta_ci95_high: float | None = metric("ratio")
    f1_target_verdict: str | None = metric(
        doc="met, missed, or within noise (the interval of the target's margin holds 0)",
        label="F1 target over seeds",
    )
