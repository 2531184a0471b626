"""Sliding windows over split series, scaled on each series' training part only.

Streaming convention: a point's score is the score of the window that ends at it
(what an edge device knows when the point arrives). Validation and test windows
therefore end inside their part and may start earlier, in the history the device
has seen; training windows lie wholly in the training part and hold no labelled
anomaly. A window's label (`y`) is 1 when it contains an anomalous point; `y_end`
is the label of its last point, the per-point label. A window of a multichannel
series is (length, channels), flattened row by row.
"""

from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

from bench import UsageError
from bench.data import Series

SCALINGS = ("minmax", "standard")


@dataclass(frozen=True)
class Scaler:
    """Per channel: optionally log1p, then (v - shift) / scale fitted on training values."""

    kind: str
    log: bool
    shift: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def fit(cls, train_values: np.ndarray, kind: str, log: bool = False) -> "Scaler":
        if kind not in SCALINGS:
            raise UsageError(f"unknown scaling {kind!r}; choose one of {', '.join(SCALINGS)}")
        v = np.log1p(train_values) if log else np.asarray(train_values, dtype=np.float64)
        if kind == "minmax":
            shift, span = v.min(axis=0), v.max(axis=0) - v.min(axis=0)
        else:
            shift, span = v.mean(axis=0), v.std(axis=0)
        span = np.where(span > 0, span, 1.0)
        return cls(kind, log, tuple(map(float, shift)), tuple(map(float, span)))

    def transform(self, values: np.ndarray) -> np.ndarray:
        v = np.log1p(values) if self.log else values
        return ((v - np.asarray(self.shift)) / np.asarray(self.scale)).astype(np.float32)


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # (windows, length * channels) float32, scaled
    y: np.ndarray  # (windows,) int8: the window holds an anomalous point
    end: np.ndarray  # (windows,) row of each window's last point in its series
    y_end: np.ndarray  # (windows,) int8: label of that last point
    series: np.ndarray  # (windows,) index of the series in `Windows.series_names`

    def take(self, keep: np.ndarray) -> "Split":
        """The windows where `keep` holds."""
        return Split(*(getattr(self, f.name)[keep] for f in fields(self)))


@dataclass(frozen=True)
class Windows:
    series_names: tuple[str, ...]
    length: int
    channels: int
    scalers: tuple[Scaler, ...]
    train: Split
    val: Split
    test: Split
    labels: dict[int, np.ndarray]  # by series index (as in `Split.series`): all its rows

    @property
    def scaler(self) -> Scaler:
        return self.scalers[0]

    @cached_property
    def input_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Per channel, the lowest and the highest value the training windows hold."""
        per_channel = self.train.x.reshape(-1, self.channels)
        return per_channel.min(axis=0), per_channel.max(axis=0)

    def seen(self, x: np.ndarray) -> np.ndarray:
        """What a model is given of windows `x`: each value clipped to its channel's
        training range, as an int8 model's input saturates at its calibrated range. The
        score still compares the reconstruction with `x` itself, so a value beyond what
        training held costs its full distance."""
        low, high = self.input_range
        return np.clip(x, np.tile(low, self.length), np.tile(high, self.length)).astype(x.dtype)


@dataclass(frozen=True)
class _Scaled:
    """One series scaled, its labels, the window length and the series' index."""

    values: np.ndarray
    labels: np.ndarray
    length: int
    index: int

    def split(self, first_end: int, stop: int, normal_only: bool = False) -> Split:
        """The windows ending at first_end .. stop - 1 (normal ones only, if asked)."""
        scaled, labels, length = self.values, self.labels, self.length
        ends = np.arange(max(first_end, length - 1), stop)
        starts = ends - length + 1
        x = scaled[starts[:, None] + np.arange(length)].reshape(len(ends), length * scaled.shape[1])
        holds = np.lib.stride_tricks.sliding_window_view(labels, length).max(axis=1)
        y = holds[starts].astype(np.int8)
        if normal_only:
            keep = y == 0
            x, y, ends = x[keep], y[keep], ends[keep]
        return Split(
            np.ascontiguousarray(x, dtype=np.float32),
            y,
            ends,
            labels[ends].astype(np.int8),
            np.full(len(ends), self.index),
        )


def series_windows(series: Series, length: int, scaling: str = "minmax", index: int = 0) -> Windows:
    if length < 2 or length > series.train_end:
        raise UsageError(
            f"window length {length} does not fit series {series.name!r}: choose "
            f"2..{series.train_end} (its training part has {series.train_end} points)"
        )
    scaler = Scaler.fit(series.values[: series.train_end], scaling, series.log)
    scaled = _Scaled(scaler.transform(series.values), series.labels, length, index)
    train = scaled.split(length - 1, series.train_end, normal_only=True)
    if len(train.x) == 0:
        raise UsageError(f"series {series.name!r}: no normal training window of {length}")
    val = scaled.split(series.train_end, series.val_end)
    test = scaled.split(series.val_end, len(series.values))
    labels = {index: series.labels.astype(np.int8)}
    return Windows(
        (series.name,), length, len(series.channels), (scaler,), train, val, test, labels
    )


def _concat(splits: list[Split]) -> Split:
    return Split(*(np.concatenate([getattr(s, f.name) for s in splits]) for f in fields(Split)))


def make_windows(series: Series | list[Series], length: int, scaling: str = "minmax") -> Windows:
    """Windows of one series, or of several (each scaled on its own training part)."""
    many = [series] if isinstance(series, Series) else list(series)
    parts = [series_windows(s, length, scaling, i) for i, s in enumerate(many)]
    return Windows(
        tuple(s.name for s in many),
        length,
        parts[0].channels,
        tuple(p.scaler for p in parts),
        _concat([p.train for p in parts]),
        _concat([p.val for p in parts]),
        _concat([p.test for p in parts]),
        {i: y for p in parts for i, y in p.labels.items()},
    )
