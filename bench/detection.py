"""Detection quality: scores for whole splits by batched inference, the threshold from
validation only, metrics from scikit-learn on the test part.

Point level comes first, as SKAB and NAB count: a point's score is that of the window
ending at it (`point_f1`, `far`, `mar`, point ROC-AUC and PR-AUC), read from the
window's reconstruction errors by a `Score` (the window's mean, the newest point's, or
the largest of the newest k; `auto` chooses on validation PR-AUC), with event figures
over each labelled run of anomalous points (share detected, delay to the first alarm,
false alarms per 1,000 normal points) and NAB's score. Window level (a window is
anomalous when it holds an anomalous point: `window_f1`, ...) stays for reference: it
flatters, since every spike keeps alarming for as long as a window still holds it.

Beside every figure, baselines on the same test points: always alarm, a random
detector at the model's own alarm rate (expected value), and a rolling z-score of the
newest point against the rest of its window, thresholded on validation like the model.
Every figure that verdicts rest on carries a block-bootstrap interval (`bench.bootstrap`),
and the difference from the best baseline a paired one.
"""

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from bench import UsageError, bootstrap, nab
from bench.baselines import baseline_alarms, degenerate, informative
from bench.data.windows import Split, Windows
from bench.metrics import (
    Scored,
    all_rows,
    events,
    point_curves,
    point_metrics,
    random_point_f1,
    resolve_policy,
    tested_training,
    threshold_from_validation,
    window_metrics,
)
from bench.runtime import LiteRT
from bench.schema import Detection, SeriesDetection

CHANCE_AUC = 0.05  # a ROC-AUC this close to 0.5 is a warning
MAX_POINTS = 100_000  # no window is longer
SCORES = (
    "auto (chosen per arch on float32's validation PR-AUC), mean (the window's mean "
    "squared reconstruction error, the case study's), last (the newest point's) or "
    "max:k (the largest of the newest k points' errors, 1 < k <= window)"
)


@dataclass(frozen=True)
class Score:
    """How a window's reconstruction errors become its score: `mean` of all its points,
    the newest point's (`last`), or the largest of the newest `k` points' (`max:k`); a
    point's error is its squared error averaged over channels."""

    kind: str
    k: int = 0

    @classmethod
    def parse(cls, text: str) -> "Score":
        kind, _, k = text.partition(":")
        if text in ("mean", "last"):
            return cls(text)
        if kind == "max" and k.isascii() and k.isdigit() and 1 < int(k) <= MAX_POINTS:
            return cls("max", int(k))
        raise UsageError(f"--score {text!r}: use {SCORES}")

    def __str__(self) -> str:
        return f"max:{self.k}" if self.kind == "max" else self.kind

    def newest(self, length: int) -> int:
        """How many of the newest points the score reads."""
        return length if self.kind == "mean" else 1 if self.kind == "last" else self.k

    def of(self, errors: np.ndarray, channels: int) -> np.ndarray:
        """(windows, length * channels) squared errors -> (windows,) scores."""
        per_point = errors.reshape(len(errors), -1, channels).mean(axis=2)
        if self.kind == "mean":
            return per_point.mean(axis=1)
        return per_point[:, -self.newest(per_point.shape[1]) :].max(axis=1)


def check_score(text: str, length: int | None = None) -> None:
    """Fail early, before any training, on a score `Score.parse` rejects or that reads
    more points than a window holds."""
    if text == "auto":
        return
    score = Score.parse(text)
    if length is not None and score.newest(length) > length:
        raise UsageError(f"--score {text}: a window holds {length} points; use k <= {length}")


def candidates(length: int) -> list[Score]:
    """What `auto` chooses among: the mean, the newest point, and the maximum over the
    newest 3 and the newest quarter of the window."""
    ks = sorted({k for k in (3, length // 4) if 1 < k < length})
    return [Score("mean"), Score("last"), *(Score("max", k) for k in ks)]


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
    if found.vs_baseline != "above":
        low, high = found.point_f1_delta_vs_baseline_low, found.point_f1_delta_vs_baseline_high
        paired = "" if low is None else f"; paired 95 % interval {low:+.3f} to {high:+.3f}"
        said.append(
            f"point F1 {found.point_f1:.3f} does not beat the best baseline ({best:.3f}) "
            f"beyond noise{paired}"
        )
    return said


def measure(
    model: bytes, windows: Windows, policy: str, reference: dict[str, dict], scores: list[Score]
) -> dict[str, Detection]:
    """Detection figures of `model` under each of `scores`, from one pass of inference;
    `reference` = `baselines(windows, policy)`."""
    parts, per_part = _inferred(model, windows, scores)
    policy = resolve_policy(policy, windows.val.y_end)
    found = {}
    with _checked_once():
        for j, score in enumerate(scores):
            one = _one(windows, parts, [s[:, j] for s in per_part], policy, reference)
            one.window_score = str(score)
            found[str(score)] = one
    return found


def _checked_once() -> Any:
    """scikit-learn's metrics without re-validating their parameters on every call (its
    own switch): the arrays are the harness's, built the same way each time."""
    import sklearn

    return sklearn.config_context(skip_parameter_validation=True)


def _one(
    windows: Windows,
    parts: tuple[Split, ...],
    scores: list[np.ndarray],
    policy: str,
    reference: dict,
) -> Detection:
    """The figures of one score: `scores` per part, the threshold set on validation."""
    scored = list(zip(parts, scores, strict=True))
    threshold = threshold_from_validation(scored[1][1], windows.val, policy)
    rows = all_rows(windows.labels, scored, threshold)
    one = _figures(windows, scored[-1][1], Cut(threshold, policy), reference, rows)
    one.validation_point_pr_auc = point_curves(windows.val.y_end, scored[1][1]).point_pr_auc
    return one


def _inferred(
    model: bytes, windows: Windows, scores: list[Score]
) -> tuple[tuple[Split, ...], list[np.ndarray]]:
    """The training windows of each tested series, validation and test (in that order),
    and their scores: (windows, len(scores)) per part."""
    host = LiteRT(model)
    parts = (tested_training(windows), windows.val, windows.test)

    def each(errors: np.ndarray) -> np.ndarray:
        return np.stack([s.of(errors, windows.channels) for s in scores], axis=1)

    return parts, [host.scores(part.x, each, windows.seen(part.x)) for part in parts]


def _scored(model: bytes, windows: Windows, policy: str, score: Score) -> tuple[Scored, float, str]:
    """The parts' scores under `score`, the threshold set on validation, and the policy
    it resolved to."""
    parts, per_part = _inferred(model, windows, [score])
    scored = [(part, s[:, 0]) for part, s in zip(parts, per_part, strict=True)]
    policy = resolve_policy(policy, windows.val.y_end)
    return scored, threshold_from_validation(scored[1][1], windows.val, policy), policy


@dataclass(frozen=True)
class PerSeries:
    """NAB's protocol: one model per series, its windows alone, and every series'."""

    models: list[bytes]
    parts: list[Windows]
    whole: Windows


def measure_per_series(split: PerSeries, policy: str, score: Score, reference: dict) -> Detection:
    """One model per series (NAB's protocol), each thresholded on its own validation
    part, scored together on the whole test points: a point's score is its model's
    score over that model's threshold, so the alarm threshold is 1 for every series."""
    whole = split.whole
    scores, policies = np.empty(len(whole.test.y_end), dtype=np.float32), set()
    every: Scored = []
    for model, part in zip(split.models, split.parts, strict=True):
        mine = whole.test.series == part.test.series[0]
        found, threshold, resolved = _scored(model, part, policy, score)
        scale = threshold if threshold > 0 else 1.0
        every += [(one, s / scale) for one, s in found]
        scores[mine] = found[-1][1] / scale
        policies.add(resolved)
    how = f"{'/'.join(sorted(policies))} per series"
    rows = all_rows(whole.labels, every, 1.0)
    out = _figures(whole, scores, Cut(1.0, how), reference, rows)
    out.window_score = str(score)
    return out


@dataclass(frozen=True)
class Cut:
    """A threshold on the scores, the policy that set it on validation data, and the
    window score it applies to."""

    threshold: float
    policy: str
    score: str = "mean"


def choose(found: list[Detection], whose: str) -> Detection:
    """The detection whose score has the best validation PR-AUC (ties: the earlier, the
    window mean first), with why; the mean when validation holds no anomaly."""
    ranked = [d for d in found if d.validation_point_pr_auc is not None]
    if not ranked:
        best = found[0]
        best.score_choice = f"{best.window_score}: validation holds no anomaly to choose on"
        return best
    best = max(ranked, key=lambda d: d.validation_point_pr_auc or 0.0)
    each = ", ".join(f"{d.window_score} {d.validation_point_pr_auc:.3f}" for d in ranked)
    best.score_choice = f"{best.window_score}: best validation PR-AUC of {whose} ({each})"
    return best


def _figures(
    windows: Windows, test_scores: np.ndarray, cut: Cut, reference: dict, rows: Detection
) -> Detection:
    threshold, test = cut.threshold, windows.test
    alarms = (test_scores > threshold).astype(int)
    per_series = {}
    if len(windows.series_names) > 1:
        for i, name in enumerate(windows.series_names):
            mine = test.series == i
            if mine.any():
                y, own, series = test.y_end[mine], alarms[mine], test.series[mine]
                one = Detection.merged(
                    point_metrics(y, own), events(y, own, series), **nab.score(y, own, series)
                )
                per_series[name] = SeriesDetection(
                    **{f.name: getattr(one, f.name) for f in fields(SeriesDetection)}
                )
    rate = float(alarms.mean()) if len(alarms) else 0.0
    random = random_point_f1(test.y_end, rate)
    candidates = {n: b["point_f1"] for n, b in reference.items() if not degenerate(n, b)} | {
        "random_at_alarm_rate": random
    }
    best = max(candidates, key=lambda k: candidates[k])
    found = Detection.merged(
        point_metrics(test.y_end, alarms),
        point_curves(test.y_end, test_scores),
        events(test.y_end, alarms, test.series),
        rows,
        _intervals(windows, alarms, best, reference),
        window_metrics(test.y, test_scores, threshold),
        **nab.score(test.y_end, alarms, test.series),
        nab_score_standard_swept=nab.swept(test.y_end, test_scores, test.series),
        alarm_rate=rate,
        baseline_best_far=reference[best]["far"] if best in reference else rate,
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


def _intervals(windows: Windows, alarms: np.ndarray, best: str, reference: dict) -> Detection:
    """95 % block-bootstrap intervals of the test figures, and the paired one of the
    point F1 difference from the best baseline `best` with its verdict."""
    test = windows.test
    cut = bootstrap.Blocks.over(test.series, windows.length)
    drawn = bootstrap.figures(cut, test.y_end, alarms, test.series)
    found: dict = {"bootstrap": cut.describe()}
    for name in ("point_f1", "far", "event_recall", "nab_score_standard"):
        found[f"{name}_boot_low"], found[f"{name}_boot_high"] = bootstrap.interval(drawn[name])
    other = baseline_alarms(best, windows, reference)
    if other is None:  # the random detector at this model's alarm rate
        theirs = bootstrap.random_f1(drawn, float(alarms.mean()) if len(alarms) else 0.0)
    else:
        theirs = bootstrap.points(cut, test.y_end, other)["point_f1"]
    low, high = bootstrap.interval(drawn["point_f1"] - theirs)
    found["point_f1_delta_vs_baseline_low"], found["point_f1_delta_vs_baseline_high"] = low, high
    found["vs_baseline"] = bootstrap.verdict(low, high)
    detector = informative(reference)
    if detector is not None:
        mine = baseline_alarms(detector, windows, reference)
        assert mine is not None
        theirs = bootstrap.points(cut, test.y_end, mine)["point_f1"]
        low, high = bootstrap.interval(drawn["point_f1"] - theirs)
        found |= {
            "baseline_informative": detector,
            "baseline_informative_point_f1": reference[detector]["point_f1"],
            "baseline_informative_far": reference[detector]["far"],
            "point_f1_delta_vs_informative_low": low,
            "point_f1_delta_vs_informative_high": high,
        }
    return Detection.from_dict(found)
