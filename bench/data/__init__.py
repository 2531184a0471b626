"""Labelled series and their windows. A dataset is a list of `Series`."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Series:
    """One labelled stream, split chronologically at `train_end` and `val_end`.

    `values` are raw observations (n,); `labels` mark anomalous points (n,) with 1;
    `kinds` names each point's anomaly kind ("" for normal points).
    """

    name: str
    values: np.ndarray
    labels: np.ndarray
    kinds: np.ndarray
    train_end: int
    val_end: int

    def __post_init__(self):
        n = len(self.values)
        if not (len(self.labels) == len(self.kinds) == n):
            raise ValueError(f"series {self.name}: values, labels and kinds differ in length")
        if not 0 < self.train_end < self.val_end < n:
            raise ValueError(f"series {self.name}: split points out of order")
