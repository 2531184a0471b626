"""NAB's standard score, from the benchmark's published definition (numenta/NAB).

In each labelled window only the earliest detection counts, rewarded by a scaled
sigmoid of its position (1 at the window's left edge, 0 at its right edge); every
alarm outside a window costs `fp` x a sigmoid of its distance past the previous
window (the full `fp` when no window came before); a window without detection costs
`fn`. The raw score is normalised so that the null detector (never alarms) scores 0
and the perfect one (alarms at each window's start) 100, over all series together.

Differences from NAB's own runner, said where the score is shown: the threshold is
the harness's, set on validation data, not swept over the corpus; scoring starts at
the test part (after NAB's probationary period), so a window that began earlier is
scored from there.
"""

from typing import Any

import numpy as np

# profile -> (true positive, false positive, false negative) weights
PROFILES = {
    "standard": (1.0, 0.11, 1.0),
    "low_fp": (1.0, 0.22, 1.0),  # NAB's reward_low_FP_rate
    "low_fn": (1.0, 0.11, 2.0),  # NAB's reward_low_FN_rate
}


def scaled_sigmoid(position: Any) -> Any:
    """-1 (window start) -> 0.98661; 0 (window end) -> 0; 1 -> -0.98661; >= 3 -> -1; of
    a number or of each element of an array."""
    at = np.minimum(position, 3.0)  # beyond, -1 whatever the sigmoid would say
    found = np.where(at >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * at)) - 1.0)
    return found[()]  # a number stays a number


MAX_TP = scaled_sigmoid(-1.0)


def windows(labels: np.ndarray) -> list[tuple[int, int]]:
    """(left, right) indices, inclusive, of each run of anomalous points."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], labels, [0]])))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def raw_score(labels: np.ndarray, alarms: np.ndarray, weights: tuple[float, float, float]) -> float:
    """One series, in time order: the sum of its windows' and false alarms' scores."""
    return float(contributions(labels, alarms, weights)[1].sum())


def contributions(
    labels: np.ndarray, alarms: np.ndarray, weights: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """(where, score): each window's score at its left edge, each false alarm's at its
    own point; their sum is the series' raw score."""
    tp, fp, fn = weights
    found = windows(labels)
    at, values = [], []
    for left, right in found:
        width = right - left + 1
        hits = np.flatnonzero(alarms[left : right + 1]) + left
        best = -fn
        for i in hits[:1]:  # the earliest detection is the best one
            best = max(best, _reward(i - left, width, tp))
        at.append(left)
        values.append(best)
    false = np.flatnonzero(alarms & (labels == 0))
    where = np.concatenate([np.array(at, dtype=np.int64), false])
    return where, np.concatenate([np.array(values, dtype=np.float64), fp * _past(found, false)])


def _reward(offset: Any, width: int, tp: float) -> Any:
    """A window's reward for its earliest detection, `offset` points past its left edge
    (a number, or an array of them)."""
    return scaled_sigmoid(-(width - offset) / width) * tp / MAX_TP


def _past(found: list[tuple[int, int]], points: np.ndarray) -> np.ndarray:
    """The scaled sigmoid of each point's distance past the window before it, relative to
    that window's width (-1 when no window came before)."""
    rights = np.array([r for _, r in found], dtype=np.int64)
    widths = np.array([r - lo + 1 for lo, r in found], dtype=np.float64)
    k = np.searchsorted(rights, points, side="left") - 1  # the last window ending before
    after = k >= 0
    position = np.full(len(points), 3.0)
    position[after] = (points[after] - rights[k[after]]) / np.maximum(widths[k[after]] - 1, 1.0)
    return np.asarray(scaled_sigmoid(position))


def swept(y: np.ndarray, scores: np.ndarray, series: np.ndarray) -> float | None:
    """The best standard score over every threshold on these points (each distinct score
    a cut, and no alarm at all), as NAB's runner sweeps its threshold over the corpus:
    the figure its scoreboard's are. A threshold is chosen here on the points scored, so
    this is a ceiling to compare with them, never a verdict. None without a window."""
    tp, fp, fn = PROFILES["standard"]
    cuts = np.unique(scores)  # alarms: score > cut; the last cut raises none
    raw = np.zeros(len(cuts))  # at each cut, summed over series
    null = perfect = 0.0
    for s in np.unique(series):
        mine = series == s
        ys, ss = y[mine].astype(int), scores[mine]
        found = windows(ys)
        null -= fn * len(found)
        perfect += tp * len(found)
        normal = np.flatnonzero(ys == 0)
        raw += _sum_above(ss[normal], fp * _past(found, normal), cuts)
        for left, right in found:
            raw += _window_reward(ss[left : right + 1], cuts, right - left + 1, tp, fn)
    if perfect == null:
        return None
    return float(100.0 * (raw.max() - null) / (perfect - null))


def _sum_above(values: np.ndarray, weights: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """For each cut, the sum of `weights` where `values` > cut."""
    order = np.argsort(values)
    tail = np.concatenate([np.cumsum(weights[order][::-1])[::-1], [0.0]])
    return tail[np.searchsorted(values[order], cuts, side="right")]


def _window_reward(
    inside: np.ndarray, cuts: np.ndarray, width: int, tp: float, fn: float
) -> np.ndarray:
    """For each cut, one window's score: its earliest alarm's reward, or -fn."""
    first = np.searchsorted(np.maximum.accumulate(inside), cuts, side="right")
    return np.where(first < width, _reward(first, width, tp), -fn)


def score(y: np.ndarray, alarms: np.ndarray, series: np.ndarray) -> dict[str, Any]:
    """`nab_score_<profile>` over all series (each point in time order within its
    series); None when no series holds a window."""
    out: dict[str, Any] = {}
    for profile, weights in PROFILES.items():
        raw = null = perfect = 0.0
        for s in np.unique(series):
            ys, al = y[series == s].astype(int), alarms[series == s].astype(bool)
            found = windows(ys)
            if not found:
                raw += raw_score(ys, al, weights)  # false alarms still cost
                continue
            starts = np.zeros(len(ys), dtype=bool)
            starts[[left for left, _ in found]] = True
            raw += raw_score(ys, al, weights)
            null += raw_score(ys, np.zeros(len(ys), dtype=bool), weights)
            perfect += raw_score(ys, starts, weights)
        out[f"nab_score_{profile}"] = (
            100.0 * (raw - null) / (perfect - null) if perfect != null else None
        )
    return out
