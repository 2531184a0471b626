"""How far a detection figure is from noise: a block bootstrap over time on the test
points, seeded, so that every model scored on the same points is resampled with the
same draws and two models' figures can be differenced draw by draw (paired).

The test points of each series are cut into consecutive blocks of `block_length`
points; a draw takes as many blocks as there are, with replacement. Every figure here is
a ratio of sums over points or events (true and false alarms, detected events, NAB's
rewards and costs), so a draw's figure comes from the blocks' sums weighted by how often
the draw took each block: one matrix product for all draws. An event and its NAB reward
belong to the block where it starts; a false alarm's cost to its own block.
"""

import math
from dataclasses import dataclass

import numpy as np

from bench import nab

DRAWS = 1000
SEED = 0
LEVEL = 0.95
MIN_VALID = 0.5  # a figure defined in fewer draws than this share gets no interval


def block_length(points: int, window: int) -> int:
    """At least a window (a point's score reads the window before it) and the cube root
    of the test points, the usual rate for a block bootstrap's blocks."""
    return max(window, math.ceil(points ** (1 / 3)), 1)


@dataclass(frozen=True)
class Blocks:
    """Which block each test point falls in, and the draws' weights over the blocks."""

    of_point: np.ndarray  # (points,) block index
    weights: np.ndarray  # (DRAWS, blocks): how often each draw takes each block
    length: int

    @classmethod
    def cut(cls, series: np.ndarray, length: int, draws: int = DRAWS) -> "Blocks":
        """Blocks of `length` consecutive points within each series (test points are in
        time order within their series)."""
        of_point = np.empty(len(series), dtype=np.int64)
        first = 0
        for s in np.unique(series):
            mine = np.flatnonzero(series == s)
            of_point[mine] = first + np.arange(len(mine)) // length
            first = int(of_point[mine].max()) + 1 if len(mine) else first
        rng = np.random.default_rng(SEED)
        weights = rng.multinomial(first, np.full(first, 1 / first), size=draws) if first else None
        return cls(of_point, np.zeros((draws, 0)) if weights is None else weights, length)

    @classmethod
    def over(cls, series: np.ndarray, window: int) -> "Blocks":
        """The blocks every model scored on these test points is resampled with."""
        return cls.cut(series, block_length(len(series), window))

    @property
    def count(self) -> int:
        return int(self.weights.shape[1])

    def describe(self) -> str:
        return f"{len(self.weights):,} draws of {self.count:,} blocks of {self.length} points"

    def sums(self, per_point: np.ndarray) -> np.ndarray:
        """Each draw's sum of `per_point` (one value per test point)."""
        per_block = np.bincount(self.of_point, weights=per_point, minlength=self.count)
        return self.weights @ per_block


def figures(blocks: Blocks, y: np.ndarray, alarms: np.ndarray, series: np.ndarray) -> dict:
    """Per draw: point F1, FAR, event recall and NAB's standard score (NaN where a draw
    leaves a figure undefined)."""
    return {**points(blocks, y, alarms), **events(blocks, y, alarms, series)}


def points(blocks: Blocks, y: np.ndarray, alarms: np.ndarray) -> dict:
    """Per draw: point F1, FAR and the share of anomalous points."""
    y, alarms = y.astype(bool), alarms.astype(bool)
    tp, fp = blocks.sums(y & alarms), blocks.sums(~y & alarms)
    fn, tn = blocks.sums(y & ~alarms), blocks.sums(~y & ~alarms)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "point_f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0),
            "far": fp / (fp + tn),
            "anomalous_share": (tp + fn) / (tp + fp + fn + tn),
        }


def events(blocks: Blocks, y: np.ndarray, alarms: np.ndarray, series: np.ndarray) -> dict:
    """Per draw: the share of events detected, and NAB's standard score."""
    tp_weight, _, fn_weight = nab.PROFILES["standard"]
    found, detected, reward, null, perfect = (np.zeros(len(y)) for _ in range(5))
    for s in np.unique(series):
        mine = np.flatnonzero(series == s)
        ys, al = y[mine].astype(int), alarms[mine].astype(bool)
        starts = np.array([mine[left] for left, _ in nab.windows(ys)], dtype=np.int64)
        for start, (left, right) in zip(starts, nab.windows(ys), strict=True):
            detected[start] += bool(al[left : right + 1].any())
        found[starts] += 1
        null[starts] -= fn_weight
        perfect[starts] += tp_weight
        at, values = nab.contributions(ys, al, nab.PROFILES["standard"])
        np.add.at(reward, mine[at], values)
    with np.errstate(invalid="ignore", divide="ignore"):
        base = blocks.sums(null)
        span = blocks.sums(perfect) - base
        return {
            "event_recall": blocks.sums(detected) / blocks.sums(found),
            "nab_score_standard": np.where(
                span != 0, 100 * (blocks.sums(reward) - base) / span, np.nan
            ),
        }


def random_f1(drawn: dict, alarm_rate: float) -> np.ndarray:
    """Per draw, the expected point F1 of random alarms at `alarm_rate`."""
    base = drawn["anomalous_share"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base + alarm_rate > 0, 2 * base * alarm_rate / (base + alarm_rate), 0.0)


def interval(values: np.ndarray) -> tuple[float | None, float | None]:
    """The central 95 % of the draws where the figure is defined; None, None when too few
    draws define it."""
    finite = values[np.isfinite(values)]
    if len(finite) < MIN_VALID * len(values) or len(finite) == 0:
        return None, None
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def verdict(low: float | None, high: float | None, line: float = 0.0) -> str | None:
    """Against `line`: `above` when the whole interval is above it, `below` when the
    whole interval is below it, else `within noise`."""
    if low is None or high is None:
        return None
    return "above" if low > line else "below" if high < line else "within noise"
