"""Compression judged as fidelity to float32 of the same arch, on the same test points:
the paired bootstrap interval of the point F1 difference (what the F1 rules are judged
on), the rank correlation of the two models' scores, their decision agreement and the
F1 difference at float32's alarm count (the variant alarming on its highest scores,
as many as float32 alarmed on: a difference of the models, not of where their
validation thresholds fell; no label is read to match), and the threshold-free PR-AUC
and ROC-AUC differences.

Alarms come from the scores the row keeps (4 significant digits) against its threshold.
"""

from typing import Any

import numpy as np

from bench import bootstrap, metrics
from bench.schema import Row, Trace


def compare(row: Row, ref: Row, trace: Trace, target: object = None) -> dict:
    """The fidelity figures of `row` against `ref` (float32) on `trace`'s test points
    (`rows.trace`); empty when either has no test scores. `target`: the recipe's
    `F1Target`, judged on the paired interval."""
    mine, theirs = row.detection, ref.detection
    if not mine.test_scores or not theirs.test_scores or mine.threshold is None:
        return {}
    a, b = np.asarray(mine.test_scores), np.asarray(theirs.test_scores)
    y, series = np.asarray(trace.y), np.asarray(trace.series)
    if len(a) != len(y) or len(b) != len(y) or theirs.threshold is None:
        return {}
    cut = bootstrap.Blocks.over(series, row.id.window or 1)
    theirs_alarms = b > theirs.threshold
    drawn = bootstrap.points(cut, y, a > mine.threshold)["point_f1"]
    ref_f1 = bootstrap.points(cut, y, theirs_alarms)["point_f1"]
    low, high = bootstrap.interval(drawn - ref_f1)
    at_theirs = top(a, int(theirs_alarms.sum()))  # as many alarms as float32 raised
    matched_low, matched_high = bootstrap.interval(
        bootstrap.points(cut, y, at_theirs)["point_f1"] - ref_f1
    )
    found: dict[str, Any] = {
        "point_f1_delta_vs_float32_low": low,
        "point_f1_delta_vs_float32_high": high,
        "point_f1_matched_delta_vs_float32": _f1(y, at_theirs) - _f1(y, theirs_alarms),
        "point_f1_matched_delta_vs_float32_low": matched_low,
        "point_f1_matched_delta_vs_float32_high": matched_high,
        "score_rank_correlation": rank_correlation(a, b),
        "decision_agreement": agreement(a, theirs_alarms),
        "point_pr_auc_delta_vs_float32": _minus(mine.point_pr_auc, theirs.point_pr_auc),
        "point_roc_auc_delta_vs_float32": _minus(mine.point_roc_auc, theirs.point_roc_auc),
    }
    margin = getattr(target, "margin", None)
    if margin is not None and mine.point_f1 is not None and theirs.point_f1 is not None:
        # the draws' margins: the variant's F1 against the target set by float32's
        margins = np.array([margin(f, r) for f, r in zip(drawn, ref_f1, strict=True)])
        verdict = bootstrap.verdict(*bootstrap.interval(margins), line=-1e-12)
        found["f1_target_judged"] = {"above": "met", "below": "missed"}.get(verdict or "", verdict)
    return found


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation of two models' scores on the same points."""
    from scipy import stats

    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(stats.spearmanr(a, b).statistic)


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Alarms on the `k` highest scores (ties: the earlier point first)."""
    alarms = np.zeros(len(scores), dtype=bool)
    alarms[np.argsort(-scores, kind="stable")[:k]] = True
    return alarms


def agreement(scores: np.ndarray, reference_alarms: np.ndarray) -> float | None:
    """The share of points where `scores`, alarming on as many points as the reference
    did (its highest), decides as the reference did: no threshold of its own involved."""
    if len(scores) == 0:
        return None
    return float(np.mean(top(scores, int(reference_alarms.sum())) == reference_alarms))


def _f1(y: np.ndarray, alarms: np.ndarray) -> float:
    return float(metrics.point_metrics(y, alarms).point_f1 or 0.0)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
