"""Datasets by name: `nepse` (built in), `nab:PATH`, `skab:PATH`, `csv:FILE`.

NAB and SKAB are read in their own repository layouts, so a loader works on the
subsets in ../shared/data and on a full checkout alike. Every file goes through
the same checks; what stops the run is a UsageError (one line), what it can go on
from is a warning with counts, kept in the dataset.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench import UsageError
from bench.data import Dataset, Series
from bench.data.synthetic import StreamConfig, nepse_dataset

SKAB_TRAIN_ROWS = 400  # SKAB: rows 0-399 of each run are its training part
NAB_PROBATION, NAB_PROBATION_MAX = 0.15, 750  # NAB: first 15 % of a file, at most 750 rows
VAL_SHARE = 0.2  # of a training part held out (normal data) to set the threshold
LEADERBOARDS = {
    "skab": {
        "metric": "per-point F1 on the test parts",
        "source": "SKAB leaderboard (waico/SKAB), as quoted in ../shared/data/README.md",
        "figures": {"Conv-AE": 0.78, "LSTM-AE": 0.74, "vanilla AE": 0.39, "Isolation Forest": 0.29},
    },
    "nab": {
        "metric": "NAB standard score (not computed here)",
        "source": "NAB scoreboard (numenta/NAB), as quoted in ../shared/DESIGN.md",
        "figures": {"HTM": 70.5, "RCF": 51.7},
    },
}


@dataclass(frozen=True)
class CsvColumns:
    time: str = "timestamp"
    values: tuple[str, ...] = ()  # () = every numeric column but time and label
    label: str | None = "label"  # used when present


def load(
    spec: str, stream: StreamConfig | None = None, columns: CsvColumns | None = None
) -> Dataset:
    kind, _, path = spec.partition(":")
    if kind == "nepse" and not path:
        return nepse_dataset(stream or StreamConfig())
    loaders = {
        "nab": load_nab,
        "skab": load_skab,
        "csv": lambda p: load_csv(p, columns or CsvColumns()),
    }
    if kind not in loaders or not path:
        raise UsageError(f"unknown dataset {spec!r}; use nepse, nab:PATH, skab:PATH or csv:FILE")
    return loaders[kind](Path(path).expanduser())


def _short(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def read_table(
    path: Path,
    sep: str,
    time: str,
    values: list[str] | None,
    label: str | None,
    warnings: list[str],
) -> tuple[pd.Series, np.ndarray, np.ndarray | None, list]:
    """Read and check one file: (timestamps, values (n, c), labels or None, value names)."""
    try:
        frame = pd.read_csv(path, sep=sep)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise UsageError(f"{path}: not a readable {sep!r}-separated file ({err})") from None
    if time not in frame.columns:
        raise UsageError(
            f"{path}: no time column {time!r}; columns are {', '.join(map(str, frame.columns))}"
        )
    if values is None:
        values = [c for c in frame.columns if c not in (time, label)]
    missing = [c for c in values if c not in frame.columns]
    if missing or not values:
        raise UsageError(
            f"{path}: missing value column(s) {', '.join(missing) or '(none)'}; "
            f"columns are {', '.join(map(str, frame.columns))}"
        )
    stamps = pd.to_datetime(frame[time], errors="coerce")
    if stamps.isna().any():
        row = int(stamps.isna().to_numpy().argmax())
        raise UsageError(
            f"{path}: {int(stamps.isna().sum())} unreadable timestamp(s), the "
            f"first in data row {row + 1}: {frame[time].iloc[row]!r}"
        )
    if not stamps.is_monotonic_increasing:
        row = int(np.argmax(np.diff(stamps.to_numpy()) < np.timedelta64(0))) + 1
        raise UsageError(f"{path}: timestamps out of order at data row {row + 1}; sort the file")
    numeric = frame[values].apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & frame[values].notna()
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise UsageError(
            f"{path}: {int(bad.to_numpy().sum())} non-numeric value(s), the first "
            f"in column {values[col]!r}, data row {row + 1}: "
            f"{frame[values[col]].iloc[row]!r}"
        )
    dup = stamps.duplicated().to_numpy()
    if dup.any():
        warnings.append(
            f"{_short(path)}: {int(dup.sum())} duplicated timestamp(s); kept the first of each"
        )
        frame, numeric, stamps = frame[~dup], numeric[~dup], stamps[~dup]
    nans = int(numeric.isna().to_numpy().sum())
    if nans:
        if numeric.isna().all().any():
            raise UsageError(f"{path}: a value column holds no number at all")
        numeric = numeric.interpolate(limit_direction="both")
        warnings.append(f"{_short(path)}: {nans} missing value(s) filled by linear interpolation")
    steps = np.diff(stamps.to_numpy()).astype("timedelta64[s]").astype(float)
    if len(steps) and (gaps := int((steps > 2 * np.median(steps)).sum())):
        warnings.append(
            f"{_short(path)}: {gaps} gap(s) longer than twice the usual step; "
            "windows run across them, no resampling"
        )
    labels = None
    if label is not None and label in frame.columns:
        given = pd.to_numeric(frame[label], errors="coerce")
        if given.isna().any() or not given.isin([0, 1]).all():
            raise UsageError(f"{path}: label column {label!r} must hold only 0 and 1")
        labels = given.to_numpy(dtype=np.int8)
    return stamps.reset_index(drop=True), numeric.to_numpy(np.float64), labels, values


def _series(name, values, labels, train_end, val_end, channels) -> Series:
    kinds = np.where(labels == 1, "anomaly", "").astype(object)
    return Series(name, values, labels, kinds, train_end, val_end, tuple(channels))


def load_skab(root: Path) -> Dataset:
    """SKAB's protocol: train on the anomaly-free run and rows 0-399 of every run; test on
    rows from 400 on; the last 20 % of the anomaly-free run is the (normal) validation."""
    data = root / "data"
    free = data / "anomaly-free" / "anomaly-free.csv"
    runs = sorted(p for p in data.glob("*/*.csv") if p.parent.name != "anomaly-free")
    if not free.is_file() or not runs:
        raise UsageError(
            f"{root}: not a SKAB checkout (need data/anomaly-free/anomaly-free.csv "
            "and data/<group>/<run>.csv)"
        )
    warnings: list[str] = []
    series: list[Series] = []
    _, values, _, names = read_table(free, ";", "datetime", None, None, warnings)
    keep = [i for i, c in enumerate(names) if c not in ("anomaly", "changepoint")]
    channels, values, n = [names[i] for i in keep], values[:, keep], len(values)
    series.append(
        _series("anomaly-free", values, np.zeros(n, np.int8), int(n * (1 - VAL_SHARE)), n, channels)
    )
    for path in runs:
        _, values, labels, _ = read_table(path, ";", "datetime", channels, "anomaly", warnings)
        if labels is None:
            raise UsageError(f"{path}: no 'anomaly' label column")
        name = f"{path.parent.name}/{path.stem}"
        if len(values) <= SKAB_TRAIN_ROWS:
            raise UsageError(
                f"{path}: {len(values)} rows, SKAB's protocol needs more than {SKAB_TRAIN_ROWS}"
            )
        series.append(_series(name, values, labels, SKAB_TRAIN_ROWS, SKAB_TRAIN_ROWS, channels))
    return Dataset("skab", series, "skab", warnings, LEADERBOARDS["skab"])


def load_nab(root: Path) -> Dataset:
    """NAB's conventions: windows are inclusive timestamp ranges; the probationary period
    (first 15 %, at most 750 rows) trains the model, its last 20 % set aside (normal) for
    the threshold; the rest is the test part."""
    labels_file = root / "labels" / "combined_windows.json"
    try:
        windows = json.loads(labels_file.read_text())
    except FileNotFoundError:
        raise UsageError(f"{root}: not a NAB checkout (no labels/combined_windows.json)") from None
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"{labels_file}: not readable JSON ({err})") from None
    warnings: list[str] = []
    series: list[Series] = []
    absent = [name for name in windows if not (root / "data" / name).is_file()]
    if len(absent) == len(windows):
        raise UsageError(
            f"{labels_file}: none of its {len(windows)} files is under {root / 'data'}"
        )
    if absent:
        warnings.append(
            f"{labels_file.name}: {len(absent)} labelled file(s) absent under "
            f"data/ and skipped (first: {absent[0]})"
        )
    for name in sorted(set(windows) - set(absent)):
        path = root / "data" / name
        stamps, values, _, _ = read_table(path, ",", "timestamp", ["value"], None, warnings)
        labels = np.zeros(len(values), np.int8)
        for start, end in windows[name]:
            inside = (stamps >= pd.Timestamp(start)) & (stamps <= pd.Timestamp(end))
            labels[inside.to_numpy()] = 1
        probation = min(int(len(values) * NAB_PROBATION), NAB_PROBATION_MAX)
        series.append(
            _series(
                name.removesuffix(".csv"),
                values,
                labels,
                int(probation * (1 - VAL_SHARE)),
                probation,
                ["value"],
            )
        )
    return Dataset("nab", series, "nab", warnings, LEADERBOARDS["nab"])


def load_csv(path: Path, columns: CsvColumns) -> Dataset:
    """A user's CSV: timestamp, value column(s), optional 0/1 label; split 60/20/20."""
    warnings: list[str] = []
    _, values, labels, names = read_table(
        path, ",", columns.time, list(columns.values) or None, columns.label, warnings
    )
    n = len(values)
    if labels is None:
        labels = np.zeros(n, np.int8)
        warnings.append(
            f"{path.name}: no label column {columns.label!r}: detection quality "
            "cannot be measured, only scores"
        )
    return Dataset(
        path.stem,
        [_series(path.stem, values, labels, int(n * 0.6), int(n * 0.8), names)],
        "csv",
        warnings,
    )
