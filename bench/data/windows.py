"""Sliding windows over a split series, scaled on the training part only.

Convention: a window is `length` consecutive points; it belongs to the split that
holds all of its points (windows never straddle a split boundary); its label is 1
when it contains at least one anomalous point. `end` keeps the index of each
window's last point, so per-point labels and scores can be recovered.
"""

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from bench import UsageError
from bench.data import Series

SCALINGS = ("minmax", "standard")


@dataclass(frozen=True)
class Scaler:
    """log1p, then an affine map fitted on training values: (log1p(v) - shift) / scale."""

    kind: str
    shift: float
    scale: float

    @classmethod
    def fit(cls, train_values: np.ndarray, kind: str) -> "Scaler":
        if kind not in SCALINGS:
            raise UsageError(f"unknown scaling {kind!r}; choose one of {', '.join(SCALINGS)}")
        logs = np.log1p(train_values)
        if kind == "minmax":
            lo, hi = float(logs.min()), float(logs.max())
            return cls(kind, lo, (hi - lo) or 1.0)
        return cls(kind, float(logs.mean()), float(logs.std()) or 1.0)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((np.log1p(values) - self.shift) / self.scale).astype(np.float32)


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # (windows, length) float32, scaled
    y: np.ndarray  # (windows,) int8 window labels
    end: np.ndarray  # (windows,) index in the series of each window's last point


@dataclass(frozen=True)
class Windows:
    series: str
    length: int
    scaler: Scaler
    train: Split
    val: Split
    test: Split


def _split(scaled, labels, start, stop, length) -> Split:
    view = np.lib.stride_tricks.sliding_window_view
    x = np.ascontiguousarray(view(scaled[start:stop], length))
    y = view(labels[start:stop], length).max(axis=1).astype(np.int8)
    end = np.arange(start + length - 1, stop)
    return Split(x, y, end)


def make_windows(series: Series, length: int, scaling: str = "minmax") -> Windows:
    shortest = min(series.train_end, series.val_end - series.train_end,
                   len(series.values) - series.val_end)
    if length < 2 or length > shortest:
        raise UsageError(
            f"window length {length} does not fit series {series.name!r}: "
            f"choose 2..{shortest} (the shortest of its train/validation/test parts)"
        )
    scaler = Scaler.fit(series.values[: series.train_end], scaling)
    scaled = scaler.transform(series.values)
    bounds = (0, series.train_end, series.val_end, len(series.values))
    train, val, test = (
        _split(scaled, series.labels, a, b, length) for a, b in pairwise(bounds)
    )
    return Windows(series.name, length, scaler, train, val, test)
