"""Detection quality: scores for whole splits by batched inference, the threshold from
validation only, metrics from scikit-learn on the test part.

Point level comes first, as SKAB and NAB count: a point's score is that of the window
ending at it (`point_f1`, `far`, `mar`, point ROC-AUC and PR-AUC), with event figures
over each labelled run of anomalous points (share detected, delay to the first alarm,
false alarms per 1,000 normal points) and NAB's score. Window level (a window is
anomalous when it holds an anomalous point: `window_f1`, ...) stays for reference: it
flatters, since every spike keeps alarming for as long as a window still holds it.

Beside every figure, baselines on the same test points: always alarm, a random
detector at the model's own alarm rate (expected value), and a rolling z-score of the
newest point against the rest of its window, thresholded on validation like the model.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench import MeasurementError, UsageError, nab
from bench.data.windows import Split, Windows
from bench.runtime import LiteRT
from bench.schema import Detection, SeriesDetection

THRESHOLD_POLICIES = (
    "auto (f1 when validation holds anomalies, else percentile:99), "
    "f1 (best point F1 on validation) or percentile:P (of the scores of validation "
    "windows that hold no anomaly, 0<P<100)"
)
CHANCE_AUC = 0.05  # a ROC-AUC this close to 0.5 is a warning


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


def window_metrics(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Window level, for reference: precision, recall, F1 at `threshold`; ROC, PR AUC."""
    metrics = _metrics()
    y_pred = (scores > threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    return {
        "window_precision": float(metrics.precision_score(y_true, y_pred, zero_division=0)),
        "window_recall": float(metrics.recall_score(y_true, y_pred, zero_division=0)),
        "window_f1": float(metrics.f1_score(y_true, y_pred, zero_division=0)),
        "window_roc_auc": float(metrics.roc_auc_score(y_true, scores)) if both else None,
        "window_pr_auc": float(metrics.average_precision_score(y_true, scores)) if both else None,
    }


def point_metrics(y: np.ndarray, alarms: np.ndarray) -> dict:
    """Per-point precision, recall, F1, and SKAB's false and missed alarm rates."""
    metrics = _metrics()
    tn, fp, fn, tp = metrics.confusion_matrix(y, alarms, labels=[0, 1]).ravel()
    return {
        "point_precision": float(metrics.precision_score(y, alarms, zero_division=0)),
        "point_recall": float(metrics.recall_score(y, alarms, zero_division=0)),
        "point_f1": float(metrics.f1_score(y, alarms, zero_division=0)),
        "far": float(fp / (fp + tn)) if fp + tn else None,
        "mar": float(fn / (fn + tp)) if fn + tp else None,
    }


def point_curves(y: np.ndarray, scores: np.ndarray) -> dict:
    """ROC-AUC and PR-AUC of the point scores; None when the test part holds one class."""
    metrics = _metrics()
    both = len(np.unique(y)) == 2
    return {
        "point_roc_auc": float(metrics.roc_auc_score(y, scores)) if both else None,
        "point_pr_auc": float(metrics.average_precision_score(y, scores)) if both else None,
    }


def events(y: np.ndarray, alarms: np.ndarray, series: np.ndarray) -> dict:
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
    return {
        "events": runs,
        "event_recall": detected / runs if runs else None,
        "detection_delay_mean": float(np.mean(delays)) if delays else None,
        "false_alarms_per_1000": 1000 * int((alarms & (y == 0)).sum()) / normal if normal else None,
    }


def random_point_f1(y: np.ndarray, alarm_rate: float) -> float:
    """Expected point F1 of alarms drawn at random at `alarm_rate`: precision is the
    share of anomalous points, recall the alarm rate."""
    base = float(np.mean(y)) if len(y) else 0.0
    return 2 * base * alarm_rate / (base + alarm_rate) if base + alarm_rate else 0.0


Scored = list[tuple[Split, np.ndarray]]  # windows and their scores


def tested_training(windows: Windows) -> Split:
    """The training windows of the series that have test points."""
    return windows.train.take(np.isin(windows.train.series, np.unique(windows.test.series)))


def all_rows(labels: dict[int, np.ndarray], scored: Scored, threshold: float) -> dict:
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


def _as_all_rows(y: np.ndarray, alarms: np.ndarray) -> dict:
    found = point_metrics(y, alarms)
    return {f"all_rows_{k}": found[k] for k in ("point_f1", "far", "mar")}


def zscores(x: np.ndarray, length: int, channels: int) -> np.ndarray:
    """Per window: the largest |z| over channels of its newest point against the rest of
    the window (a rolling z-score: no learning, causal)."""
    w = x.reshape(len(x), length, channels).astype(np.float64)
    history, newest = w[:, :-1], w[:, -1]
    spread = history.std(axis=1)
    z = np.abs(newest - history.mean(axis=1)) / np.where(spread > 0, spread, 1e-9)
    return z.max(axis=1)


def baselines(windows: Windows, policy: str) -> dict[str, dict]:
    """Point figures of the non-learned detectors on the test points (and over all rows,
    as `all_rows`): always alarm, and the rolling z-score with its threshold set on
    validation by the same policy."""
    test = windows.test
    always = np.ones(len(test.y_end), dtype=int)
    every = np.concatenate([windows.labels[i] for i in np.unique(test.series)])
    found = {
        "always_alarm": {
            **point_metrics(test.y_end, always),
            **_as_all_rows(every, np.ones(len(every), dtype=int)),
            "alarm_rate": 1.0,
        }
    }
    parts = (tested_training(windows), windows.val, test)
    scored = [(p, zscores(p.x, windows.length, windows.channels)) for p in parts]
    z_test = scored[-1][1]
    cut = threshold_from_validation(
        scored[1][1], windows.val, resolve_policy(policy, windows.val.y_end)
    )
    alarms = (z_test > cut).astype(int)
    found["rolling_zscore"] = {
        **point_metrics(test.y_end, alarms),
        **point_curves(test.y_end, z_test),
        **all_rows(windows.labels, scored, cut),
        "alarm_rate": float(alarms.mean()) if len(alarms) else 0.0,
    }
    return found


def warnings(found: Detection) -> list[str]:
    """What makes a detection figure untrustworthy, in words."""
    said = []
    auc, best = found.point_roc_auc, found.baseline_best_point_f1
    if found.events == 0 or auc is None:
        said.append("the test part holds a single class: precision, recall and AUC say little")
    elif abs(auc - 0.5) <= CHANCE_AUC:
        said.append(f"point ROC-AUC {auc:.3f} is within {CHANCE_AUC} of chance")
    if found.alarm_rate == 0:
        said.append("the threshold left no alarm on the test part")
    if found.point_f1 <= best:
        said.append(f"point F1 {found.point_f1:.3f} does not beat the best baseline ({best:.3f})")
    return said


def measure(model: bytes, windows: Windows, policy: str, reference: dict[str, dict]) -> Detection:
    """Detection figures of `model`; `reference` = `baselines(windows, policy)`."""
    scored, threshold, policy = _scored(model, windows, policy)
    rows = all_rows(windows.labels, scored, threshold)
    return _figures(windows, scored[-1][1], Cut(threshold, policy), reference, rows)


def _scored(model: bytes, windows: Windows, policy: str) -> tuple[Scored, float, str]:
    """Scores of the training windows of each tested series, of validation and of test
    (in that order), the threshold set on validation, and the policy it resolved to."""
    host = LiteRT(model)
    parts = (tested_training(windows), windows.val, windows.test)
    scored = [(part, host.scores(part.x)) for part in parts]
    policy = resolve_policy(policy, windows.val.y_end)
    return scored, threshold_from_validation(scored[1][1], windows.val, policy), policy


def measure_per_series(
    models: list[bytes], parts: list[Windows], whole: Windows, policy: str, reference: dict
) -> Detection:
    """One model per series (NAB's protocol), each thresholded on its own validation
    part, scored together on `whole`'s test points: a point's score is its model's
    score over that model's threshold, so the alarm threshold is 1 for every series."""
    scores, policies = np.empty(len(whole.test.y_end), dtype=np.float32), set()
    every: Scored = []
    for model, part in zip(models, parts, strict=True):
        mine = whole.test.series == part.test.series[0]
        found, threshold, resolved = _scored(model, part, policy)
        scale = threshold if threshold > 0 else 1.0
        every += [(split, s / scale) for split, s in found]
        scores[mine] = found[-1][1] / scale
        policies.add(resolved)
    how = f"{'/'.join(sorted(policies))} per series"
    return _figures(whole, scores, Cut(1.0, how), reference, all_rows(whole.labels, every, 1.0))


@dataclass(frozen=True)
class Cut:
    """A threshold on the scores and the policy that set it on validation data."""

    threshold: float
    policy: str


def _figures(
    windows: Windows, test_scores: np.ndarray, cut: Cut, reference: dict, rows: dict
) -> Detection:
    threshold, test = cut.threshold, windows.test
    alarms = (test_scores > threshold).astype(int)
    per_series = {}
    if len(windows.series_names) > 1:
        for i, name in enumerate(windows.series_names):
            mine = test.series == i
            if mine.any():
                per_series[name] = SeriesDetection(
                    **point_metrics(test.y_end[mine], alarms[mine]),
                    **events(test.y_end[mine], alarms[mine], test.series[mine]),
                    **nab.score(test.y_end[mine], alarms[mine], test.series[mine]),
                )
    rate = float(alarms.mean()) if len(alarms) else 0.0
    figures = {
        **point_metrics(test.y_end, alarms),
        **point_curves(test.y_end, test_scores),
        **events(test.y_end, alarms, test.series),
        **nab.score(test.y_end, alarms, test.series),
        "alarm_rate": rate,
        **rows,
    }
    random = random_point_f1(test.y_end, rate)
    candidates = {name: b["point_f1"] for name, b in reference.items()} | {
        "random_at_alarm_rate": random
    }
    best = max(candidates, key=lambda k: candidates[k])
    found = Detection(
        **figures,
        **window_metrics(test.y, test_scores, threshold),
        baseline_random_point_f1=random,
        baseline_best=best,
        baseline_best_point_f1=candidates[best],
        per_series=per_series,
        threshold=threshold,
        threshold_policy=cut.policy,
        test_windows=len(test_scores),
        test_anomalous_windows=int(test.y.sum()),
        # kept (4 significant digits) so the report can draw the score trace
        test_scores=[float(f"{s:.4g}") for s in test_scores],
    )
    found.detection_warnings = warnings(found)
    return found
