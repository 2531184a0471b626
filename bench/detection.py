"""Detection quality: scores for whole splits by batched inference, the threshold from
validation only, metrics from scikit-learn on the test windows.

Window level: a window is anomalous when it holds an anomalous point (`f1`, ...).
Point level, as SKAB and NAB count: a point's score is that of the window ending at
it (`point_f1`, `far`, `mar`), plus NAB-style event figures over each labelled run of
anomalous points: the share detected, the delay to the first alarm, and false alarms
per 1,000 normal points.
"""

import numpy as np
from sklearn import metrics

from bench import MeasurementError, UsageError
from bench.data.windows import Windows
from bench.runtime import LiteRT
from bench.schema import Detection, SeriesDetection

THRESHOLD_POLICIES = (
    "auto (f1 when validation holds anomalies, else percentile:99), "
    "f1 (best F1 on validation) or percentile:P (of normal validation "
    "scores, 0<P<100)"
)


def resolve_policy(policy: str, labels: np.ndarray) -> str:
    if policy == "auto":
        return "f1" if len(np.unique(labels)) == 2 else "percentile:99"
    return policy


def threshold_from_validation(scores: np.ndarray, labels: np.ndarray, policy: str) -> float:
    if len(scores) == 0:
        raise MeasurementError("no validation window to set the threshold on")
    if policy == "f1":
        if len(np.unique(labels)) < 2:
            raise MeasurementError(
                "threshold policy f1 needs anomalies in the validation "
                "part; use --threshold percentile:P or auto"
            )
        precision, recall, cuts = metrics.precision_recall_curve(labels, scores)
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        return float(cuts[int(np.argmax(f1[:-1]))])
    if policy.startswith("percentile:"):
        p = float(policy.split(":", 1)[1])
        return float(np.percentile(scores[labels == 0], p))
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


def scores_metrics(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Precision, recall, F1 at `threshold` (alarm when score > threshold); ROC and PR AUC."""
    y_pred = (scores > threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    return {
        "precision": float(metrics.precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(metrics.recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(metrics.f1_score(y_true, y_pred, zero_division=0)),
        "roc_auc": float(metrics.roc_auc_score(y_true, scores)) if both else None,
        "pr_auc": float(metrics.average_precision_score(y_true, scores)) if both else None,
    }


def point_metrics(y: np.ndarray, alarms: np.ndarray) -> dict:
    """Per-point precision, recall, F1, and SKAB's false and missed alarm rates."""
    tn, fp, fn, tp = metrics.confusion_matrix(y, alarms, labels=[0, 1]).ravel()
    return {
        "point_precision": float(metrics.precision_score(y, alarms, zero_division=0)),
        "point_recall": float(metrics.recall_score(y, alarms, zero_division=0)),
        "point_f1": float(metrics.f1_score(y, alarms, zero_division=0)),
        "far": float(fp / (fp + tn)) if fp + tn else None,
        "mar": float(fn / (fn + tp)) if fn + tp else None,
    }


def events(y: np.ndarray, alarms: np.ndarray, series: np.ndarray) -> dict:
    """Over each run of consecutive anomalous points (per series): detected or not, and
    the delay in points from its start to the first alarm inside it."""
    detected, delays, runs = 0, [], 0
    for s in np.unique(series):
        ys, al = y[series == s], alarms[series == s]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ys, [0]])))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            runs += 1
            hits = np.flatnonzero(al[start:stop])
            if len(hits):
                detected += 1
                delays.append(int(hits[0]))
    normal = int((y == 0).sum())
    return {
        "events": runs,
        "event_recall": detected / runs if runs else None,
        "detection_delay_mean": float(np.mean(delays)) if delays else None,
        "false_alarms_per_1000": 1000 * int((alarms & (y == 0)).sum()) / normal if normal else None,
    }


def measure(model: bytes, windows: Windows, policy: str) -> Detection:
    host = LiteRT(model)
    val_scores = host.scores(windows.val.x)
    test_scores = host.scores(windows.test.x)
    policy = resolve_policy(policy, windows.val.y)
    threshold = threshold_from_validation(val_scores, windows.val.y, policy)
    test = windows.test
    alarms = (test_scores > threshold).astype(int)
    per_series = {}
    if len(windows.series_names) > 1:
        for i, name in enumerate(windows.series_names):
            mine = test.series == i
            if mine.any():
                per_series[name] = SeriesDetection(
                    **point_metrics(test.y_end[mine], alarms[mine]),
                    **events(test.y_end[mine], alarms[mine], test.series[mine]),
                )
    return Detection(
        **scores_metrics(test.y, test_scores, threshold),
        **point_metrics(test.y_end, alarms),
        **events(test.y_end, alarms, test.series),
        per_series=per_series,
        threshold=threshold,
        threshold_policy=policy,
        test_windows=len(test_scores),
        test_anomalous_windows=int(test.y.sum()),
        # kept (4 significant digits) so the report can draw the score trace
        test_scores=[float(f"{s:.4g}") for s in test_scores],
    )
