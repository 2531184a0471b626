"""Labelled series and the datasets that hold them.

Every series is split chronologically: train = rows [0, train_end), validation =
[train_end, val_end), test = [val_end, n); a part may be empty (a SKAB run has no
validation part, its anomaly-free run no test part). A dataset is one or more series
that one model is trained on together and evaluated on, each and in aggregate.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Series:
    """`values` (n, channels) raw observations; `labels` (n,) 1 = anomalous point;
    `kinds` names each anomalous point's kind ("" when normal or unknown)."""

    name: str
    values: np.ndarray
    labels: np.ndarray
    kinds: np.ndarray
    train_end: int
    val_end: int
    channels: tuple[str, ...] = ("value",)
    log: bool = False  # log1p before scaling (positive, log-normal data such as volumes)

    def __post_init__(self) -> None:
        n = len(self.values)
        if self.values.ndim != 2 or self.values.shape[1] != len(self.channels):
            raise ValueError(f"series {self.name}: values must be (n, {len(self.channels)})")
        if not (len(self.labels) == len(self.kinds) == n):
            raise ValueError(f"series {self.name}: values, labels and kinds differ in length")
        if not 0 < self.train_end <= self.val_end <= n:
            raise ValueError(f"series {self.name}: split points out of order")


@dataclass(frozen=True)
class Dataset:
    name: str
    series: list[Series]
    protocol: str  # whose conventions: "synthetic", "skab", "nab" or "csv"
    warnings: list[str] = field(default_factory=list)
    leaderboard: dict = field(default_factory=dict)  # others' published figures
    labelled: bool = True  # False: no label column, so detection cannot be scored

    @property
    def channels(self) -> tuple[str, ...]:
        return self.series[0].channels

    def summary(self) -> dict:
        return {
            "name": self.name,
            "protocol": self.protocol,
            "channels": list(self.channels),
            "series": [
                {
                    "name": s.name,
                    "points": len(s.values),
                    "train_end": s.train_end,
                    "val_end": s.val_end,
                    "anomalous_points": int(s.labels.sum()),
                    "test_anomalous_points": int(s.labels[s.val_end :].sum()),
                }
                for s in self.series
            ],
            "points": sum(len(s.values) for s in self.series),
            "anomalous_points": sum(int(s.labels.sum()) for s in self.series),
            "warnings": list(self.warnings),
            "leaderboard": self.leaderboard or None,
        }
