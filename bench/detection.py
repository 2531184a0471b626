"""Detection quality: scores for whole splits by batched inference, threshold from
validation only, metrics from scikit-learn on the test windows."""

import numpy as np
from sklearn import metrics

from bench import UsageError
from bench.data.windows import Windows
from bench.interpreter import HostModel, reconstruction_error

THRESHOLD_POLICIES = (
    "percentile:P (of normal validation scores, 0<P<100) or f1 (best F1 on validation)"
)


def threshold_from_validation(scores: np.ndarray, labels: np.ndarray, policy: str) -> float:
    if policy == "f1":
        precision, recall, cuts = metrics.precision_recall_curve(labels, scores)
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        return float(cuts[int(np.argmax(f1[:-1]))])
    if policy.startswith("percentile:"):
        p = float(policy.split(":", 1)[1])
        return float(np.percentile(scores[labels == 0], p))
    raise UsageError(f"unknown threshold policy {policy!r}; use {THRESHOLD_POLICIES}")


def check_policy(policy: str) -> None:
    """Fail early, before any training, on a policy `threshold_from_validation` rejects."""
    if policy == "f1":
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


def measure(model: bytes, windows: Windows, policy: str) -> dict:
    host = HostModel(model)
    val_scores = reconstruction_error(host, windows.val.x)
    test_scores = reconstruction_error(host, windows.test.x)
    threshold = threshold_from_validation(val_scores, windows.val.y, policy)
    return {
        **scores_metrics(windows.test.y, test_scores, threshold),
        "threshold": threshold,
        "threshold_policy": policy,
        "test_windows": len(test_scores),
        "test_anomalous_windows": int(windows.test.y.sum()),
        # kept (4 significant digits) so the report can draw the score trace
        "test_scores": [float(f"{s:.4g}") for s in test_scores],
    }
