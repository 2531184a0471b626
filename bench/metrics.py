"""The detection figures' primitives: the threshold from validation, point, window and
event metrics (scikit-learn's where it has them), and SKAB's all-rows count.

A point's alarm is that of the window ending at it. Each metric returns a partial
`schema.Detection`: the fields it measured, the rest None (`Record.merged` joins them).
"""

from typing import Any

import numpy as np

from bench import MeasurementError, UsageError, nab
from bench.data.windows import Split, Windows
from bench.schema import Detection

THRESHOLD_POLICIES = (
    "auto (f1 when validation holds anomalies, else percentile:99), "
    "f1 (best point F1 on validation) or percentile:P (of the scores of validation "
    "windows that hold no anomaly, 0<P<100)"
)


def _metrics() -> Any:
    """scikit-learn's metrics, imported when first used: 1.3 s that a run whose detection
    figures all come from the cache does not pay."""
    from sklearn import metrics

    return metrics


def resolve_policy(policy: str, labels: np.ndarray) -> str:
    if policy == "auto":
        return "f1" if len(np.unique(labels)) == 2 else "percentile:99"
    return policy


def threshold_from_validation(scores: np.ndarray, split: Split, policy: str) -> float:
    """`f1`: the cut with the best point F1 on validation; `percentile:P`: of the scores
    of validation windows that hold no anomalous point."""
    if len(scores) == 0:
        raise MeasurementError("no validation window to set the threshold on")
    if policy == "f1":
        if len(np.unique(split.y_end)) < 2:
            raise MeasurementError(
                "threshold policy f1 needs anomalies in the validation "
                "part; use --threshold percentile:P or auto"
            )
        precision, recall, cuts = _metrics().precision_recall_curve(split.y_end, scores)
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        return float(cuts[int(np.argmax(f1[:-1]))])
    if policy.startswith("percentile:"):
        normal = scores[split.y == 0]
        if len(normal) == 0:
            raise MeasurementError(
                "no validation window without anomalies to set a percentile threshold on"
            )
        return float(np.percentile(normal, float(policy.split(":", 1)[1])))
    raise MeasurementError(f"unknown threshold policy {policy!r}")


def check_policy(policy: str, validation_labels: np.ndarray | None = None) -> None:
    """Fail early, before any training, on a policy `threshold_from_validation` rejects;
    with the validation labels, also on `f1` when validation holds no anomaly."""
    if policy == "f1" and validation_labels is not None and len(np.unique(validation_labels)) < 2:
        raise UsageError(
            "--threshold f1 needs anomalies in the validation part, and this "
            "dataset's validation part has none; use auto or percentile:P"
        )
    if policy in ("f1", "auto"):
        return
    try:
        ok = policy.startswith("percentile:") and 0 < float(policy.split(":", 1)[1]) < 100
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(f"unknown threshold policy {policy!r}; use {THRESHOLD_POLICIES}")


def window_metrics(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> Detection:
    """Window level, for reference: precision, recall, F1 at `threshold`; ROC, PR AUC."""
    metrics = _metrics()
    y_pred = (scores > threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    precision, recall, f1 = _prf(y_true, y_pred)
    return Detection(
        window_precision=precision,
        window_recall=recall,
        window_f1=f1,
        window_roc_auc=float(metrics.roc_auc_score(y_true, scores)) if both else None,
        window_pr_auc=float(metrics.average_precision_score(y_true, scores)) if both else None,
    )


def point_metrics(y: np.ndarray, alarms: np.ndarray) -> Detection:
    """Per-point precision, recall, F1, and SKAB's false and missed alarm rates."""
    tn, fp, fn, tp = _metrics().confusion_matrix(y, alarms, labels=[0, 1]).ravel()
    precision, recall, f1 = _prf(y, alarms)
    return Detection(
        point_precision=precision,
        point_recall=recall,
        point_f1=f1,
        far=float(fp / (fp + tn)) if fp + tn else None,
        mar=float(fn / (fn + tp)) if fn + tp else None,
    )


def _prf(y: np.ndarray, alarms: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of the positive class, in one scikit-learn call (what
    `precision_score`, `recall_score` and `f1_score` each compute)."""
    found = _metrics().precision_recall_fscore_support(y, alarms, average="binary", zero_division=0)
    return float(found[0]), float(found[1]), float(found[2])


def point_curves(y: np.ndarray, scores: np.ndarray) -> Detection:
    """ROC-AUC and PR-AUC of the point scores; None when the test part holds one class."""
    metrics = _metrics()
    both = len(np.unique(y)) == 2
    return Detection(
        point_roc_auc=float(metrics.roc_auc_score(y, scores)) if both else None,
        point_pr_auc=float(metrics.average_precision_score(y, scores)) if both else None,
    )


def events(y: np.ndarray, alarms: np.ndarray, series: np.ndarray) -> Detection:
    """Over each run of consecutive anomalous points (per series): detected or not, and
    the delay in points from its start to the first alarm inside it."""
    detected, delays, runs = 0, [], 0
    for s in np.unique(series):
        ys, al = y[series == s], alarms[series == s]
        for start, stop in nab.windows(ys):
            runs += 1
            hits = np.flatnonzero(al[start : stop + 1])
            if len(hits):
                detected += 1
                delays.append(int(hits[0]))
    normal = int((y == 0).sum())
    return Detection(
        events=runs,
        event_recall=detected / runs if runs else None,
        detection_delay_mean=float(np.mean(delays)) if delays else None,
        false_alarms_per_1000=1000 * int((alarms & (y == 0)).sum()) / normal if normal else None,
    )


def random_point_f1(y: np.ndarray, alarm_rate: float) -> float:
    """Expected point F1 of alarms drawn at random at `alarm_rate`: precision is the
    share of anomalous points, recall the alarm rate."""
    base = float(np.mean(y)) if len(y) else 0.0
    return 2 * base * alarm_rate / (base + alarm_rate) if base + alarm_rate else 0.0


Scored = list[tuple[Split, np.ndarray]]  # windows and their scores


def tested_training(windows: Windows) -> Split:
    """The training windows of the series that have test points."""
    return windows.train.take(np.isin(windows.train.series, np.unique(windows.test.series)))


def all_rows(labels: dict[int, np.ndarray], scored: Scored, threshold: float) -> Detection:
    """SKAB's leaderboard count: per point over every row of each tested series, its
    training rows included (scored in-sample, so they flatter FAR); a row no window ends
    at (a series' first length-1 rows) counts as no alarm, as in SKAB's own code."""
    ys, alarms = [], []
    for i in np.unique(scored[-1][0].series):
        alarm = np.zeros(len(labels[i]), dtype=np.int8)
        for split, scores in scored:
            mine = split.series == i
            alarm[split.end[mine]] = scores[mine] > threshold
        ys.append(labels[i])
        alarms.append(alarm)
    return _as_all_rows(np.concatenate(ys), np.concatenate(alarms))


def _as_all_rows(y: np.ndarray, alarms: np.ndarray) -> Detection:
    found = point_metrics(y, alarms)
    return Detection(
        all_rows_point_f1=found.point_f1, all_rows_far=found.far, all_rows_mar=found.mar
    )
