"""Datasets by name: `nepse` (built in), `nab:PATH`, `skab:PATH`, `csv:FILE`.

NAB and SKAB are read in their own repository layouts, so a loader works on the
subsets in ../shared/data and on a full checkout alike. Every file goes through
the same checks; what stops the run is a UsageError (one line), what it can go on
from is a warning with counts, kept in the dataset.
"""

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from warnings import catch_warnings, simplefilter

import numpy as np

from bench import UsageError, files, unknown
from bench.data import Dataset, Series
from bench.data.synthetic import StreamConfig, nepse_dataset
from bench.schema import CONTROL

if TYPE_CHECKING:  # pandas is imported where a file is read: the built-in stream needs none
    import pandas as pd

MAX_VALUE = 1e15  # beyond this a float32 model computes inf: refused, not trained on
MIN_CSV_ROWS = 10
SKAB_TRAIN_ROWS = 400  # SKAB: rows 0-399 of each run are its training part
NAB_PROBATION, NAB_PROBATION_MAX = 0.15, 750  # NAB: first 15 % of a file, at most 750 rows
VAL_SHARE = 0.2  # of a training part held out (normal data) to set the threshold
LEADERBOARDS = {
    "skab": {
        "metric": "per-point F1 (FAR) over every row of each run, its 400 training rows "
        "included, as SKAB's scorer counts",
        "source": "SKAB leaderboard (waico/SKAB), as quoted in ../shared/data/README.md and "
        "../shared/DESIGN.md",
        "figures": {
            "Conv-AE": "0.78 (FAR 13.6 %)",
            "MSET": "0.78 (FAR 39.7 %)",
            "LSTM-AE": 0.74,
            "vanilla AE": 0.39,
            "Isolation Forest": 0.29,
        },
        "compare": "all_rows_point_f1",
    },
    "nab": {
        "metric": "NAB standard score, 0-100, each detector's threshold swept over the "
        "corpus (chosen on the points scored; every verdict here uses the validation "
        "threshold, `NAB std`)",
        "source": "NAB scoreboard (numenta/NAB), as quoted in ../shared/DESIGN.md",
        "figures": {"HTM": 70.5, "RCF": 51.7},
        "compare": "nab_score_standard_swept",
    },
}


@dataclass(frozen=True)
class CsvColumns:
    time: str = "timestamp"
    values: tuple[str, ...] = ()  # () = every numeric column but time and label
    label: str | None = "label"  # used when present
    label_required: bool = False  # named by the user: a file without it is refused
    sep: str | None = None  # None: sniffed from the header (, ; tab |)


SEPARATORS = ",;\t|"


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


NAB_COLUMNS = CsvColumns("timestamp", ("value",), None)


def read_table(
    path: Path, sep: str | None, columns: CsvColumns, warnings: list[str]
) -> "tuple[pd.Series, np.ndarray, np.ndarray | None, list]":
    """Read and check one file: (timestamps, values (n, c), labels or None, value names);
    what is odd but usable goes to `warnings`."""
    frame = _frame(path, sep)
    names = _value_names(frame, path, columns)
    stamps = _stamps(frame[columns.time], path, warnings)
    numeric = _numbers(frame[names], path)
    dup = np.concatenate([[False], stamps.to_numpy()[1:] == stamps.to_numpy()[:-1]])
    if dup.any():
        warnings.append(
            f"{_short(path)}: {int(dup.sum())} repeated timestamp(s) on consecutive rows; "
            "kept the first of each"
        )
        frame, numeric, stamps = frame[~dup], numeric[~dup], stamps[~dup]
    numeric = _filled(numeric, path, warnings)
    _gaps(stamps, path, warnings)
    label = columns.label
    labels = _labels(frame[label], path, label) if label and label in frame.columns else None
    return stamps.reset_index(drop=True), numeric.to_numpy(np.float64), labels, names


def _frame(path: Path, sep: str | None) -> "pd.DataFrame":
    """The table, its separator sniffed from the header unless given."""
    import pandas as pd

    data = files.read_bytes(path, "CSV file")
    sep = sep or sniff(data)
    if sep in ("\n", "\r", '"') or not sep:
        raise UsageError(f"--sep {sep!r} cannot separate columns: give , ; | or a tab")
    try:
        with catch_warnings():  # a separator of several characters: a slower parser
            simplefilter("ignore")
            frame = pd.read_csv(io.BytesIO(data), sep=sep)
    except (OSError, UnicodeDecodeError, ValueError) as err:  # pandas' parser errors too
        raise UsageError(f"{path}: not a readable {sep!r}-separated file ({err})") from None
    first = data.split(b"\n", 1)[0].decode(errors="replace").strip("\r\ufeff")
    header = next(csv.reader([first], delimiter=sep[0]), [])
    twice = sorted({c.strip() for c in header if header.count(c) > 1})
    if twice and len(sep) == 1:
        raise UsageError(f"{path}: column {twice[0]!r} appears more than once in the header")
    return frame


def _value_names(frame: "pd.DataFrame", path: Path, columns: CsvColumns) -> list:
    have = [str(c) for c in frame.columns]
    _present(path, "time column", columns.time, have)
    if columns.label_required and columns.label is not None:
        _present(path, "label column", columns.label, have)  # never read as a value
    names = list(columns.values) or [
        c for c in frame.columns if c not in (columns.time, columns.label)
    ]
    for name in names:
        _present(path, "value column", name, have)
    if len(set(names)) < len(names):
        raise UsageError(f"--value-columns names a column twice: {', '.join(map(str, names))}")
    if not names:
        raise UsageError(f"{path}: no value column besides the time and label; columns are {have}")
    if frame.empty:
        raise UsageError(f"{path}: a header and no data row; give the series' rows")
    return names


def _present(path: Path, kind: str, name: str, have: list[str]) -> None:
    """`name` is one of the file's columns, or one line with a suggestion."""
    if name not in have:
        raise UsageError(f"{path}: {unknown(kind, name, have)}")


def sniff(head: bytes) -> str:
    """The separator of a table: the one of `SEPARATORS` its header line holds most of."""
    line = head.split(b"\n", 1)[0].decode(errors="replace")
    counts = {sep: line.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _stamps(given: "pd.Series", path: Path, warnings: list[str]) -> "pd.Series":
    """The time column as naive UTC; unreadable ones and a clock that steps back warned."""
    stamps = timestamps(given, path)
    unread = stamps.isna().to_numpy()
    if unread.all():
        raise UsageError(
            f"{path}: no readable timestamp in column {given.name!r} (first value "
            f"{given.iloc[0] if len(given) else None!r}): row order cannot be established"
        )
    if unread.any():
        warnings.append(
            f"{_short(path)}: {int(unread.sum())} unreadable timestamp(s), the "
            f"first in data row {int(unread.argmax()) + 1}; rows kept in file order"
        )
    back = np.flatnonzero(np.diff(stamps.to_numpy()) < np.timedelta64(0))
    if len(back):
        warnings.append(
            f"{_short(path)}: the clock steps back {len(back)} time(s), first at "
            f"data row {int(back[0]) + 2}; rows kept in file order, as NAB's "
            "scorer reads them"
        )
    return stamps


def _numbers(given: "pd.DataFrame", path: Path) -> "pd.DataFrame":
    """The value columns as numbers: text, infinities and overflows refused."""
    import pandas as pd

    numeric = given.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & given.notna()
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise UsageError(
            f"{path}: {int(bad.to_numpy().sum())} non-numeric value(s), the first "
            f"in column {given.columns[col]!r}, data row {row + 1}: {given.iloc[row, col]!r}"
        )
    huge = ~np.isfinite(numeric.to_numpy(np.float64)) & numeric.notna().to_numpy()
    huge |= np.abs(numeric.fillna(0).to_numpy(np.float64)) > MAX_VALUE
    if huge.any():
        row, col = np.argwhere(huge)[0]
        raise UsageError(
            f"{path}: {int(huge.sum())} infinite or overflowing value(s) (beyond "
            f"{MAX_VALUE:g}), the first in column {given.columns[col]!r}, data row "
            f"{row + 1}: {given.iloc[row, col]!r}"
        )
    return numeric


def _filled(numeric: "pd.DataFrame", path: Path, warnings: list[str]) -> "pd.DataFrame":
    nans = int(numeric.isna().to_numpy().sum())
    if not nans:
        return numeric
    if numeric.isna().all().any():
        raise UsageError(f"{path}: a value column holds no number at all")
    warnings.append(f"{_short(path)}: {nans} missing value(s) filled by linear interpolation")
    return numeric.interpolate(limit_direction="both")


def _gaps(stamps: "pd.Series", path: Path, warnings: list[str]) -> None:
    steps = np.diff(stamps.to_numpy()).astype("timedelta64[s]").astype(float)
    steps = steps[np.isfinite(steps)]
    if len(steps) and (gaps := int((steps > 2 * np.median(steps)).sum())):
        warnings.append(
            f"{_short(path)}: {gaps} gap(s) longer than twice the usual step; "
            "windows run across them, no resampling"
        )


def _labels(given: "pd.Series", path: Path, label: str) -> np.ndarray:
    import pandas as pd

    found = pd.to_numeric(given, errors="coerce")
    if found.isna().any() or not found.isin([0, 1]).all():
        raise UsageError(f"{path}: label column {label!r} must hold only 0 and 1")
    return found.to_numpy(dtype=np.int8)


def timestamps(given: "pd.Series", where: Path) -> "pd.Series":
    """Dates as naive UTC: an aware timestamp is converted to UTC, a naive one is taken
    as UTC already, so that mixed offsets and mixed naive/aware rows order alike; what
    cannot be read is NaT."""
    import pandas as pd

    try:
        with catch_warnings():  # what pandas could not read is NaT, counted later
            simplefilter("ignore")
            found = pd.to_datetime(given, errors="coerce", utc=True)
            missed = found.isna() & given.notna()
            if missed.any():  # another format than the first row's: each read on its own
                again = pd.to_datetime(given[missed], errors="coerce", utc=True, format="mixed")
                found = found.where(~missed, again)
    except (ValueError, TypeError, OverflowError) as err:
        raise UsageError(f"{where}: timestamps that cannot be read ({err})") from None
    return found.dt.tz_convert(None)


def _series(
    name: str, values: np.ndarray, labels: np.ndarray, ends: tuple[int, int], channels: list[str]
) -> Series:
    """A series whose training part ends at `ends[0]` and validation part at `ends[1]`."""
    kinds = np.where(labels == 1, "anomaly", "").astype(object)
    try:
        return Series(name, values, labels, kinds, *ends, tuple(channels))
    except ValueError as err:
        raise UsageError(
            f"{name}: {len(values)} data rows cannot be split into training, "
            f"validation and test parts ({err}); give a longer series"
        ) from None


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
    _, values, _, names = read_table(free, ";", CsvColumns("datetime", (), None), warnings)
    keep = [i for i, c in enumerate(names) if c not in ("anomaly", "changepoint")]
    channels, values, n = [names[i] for i in keep], values[:, keep], len(values)
    series.append(
        _series(
            "anomaly-free", values, np.zeros(n, np.int8), (int(n * (1 - VAL_SHARE)), n), channels
        )
    )
    for path in runs:
        _, values, labels, _ = read_table(
            path, ";", CsvColumns("datetime", tuple(channels), "anomaly"), warnings
        )
        if labels is None:
            raise UsageError(f"{path}: no 'anomaly' label column")
        name = f"{path.parent.name}/{path.stem}"
        if len(values) <= SKAB_TRAIN_ROWS:
            raise UsageError(
                f"{path}: {len(values)} rows, SKAB's protocol needs more than {SKAB_TRAIN_ROWS}"
            )
        series.append(_series(name, values, labels, (SKAB_TRAIN_ROWS, SKAB_TRAIN_ROWS), channels))
    return Dataset("skab", series, "skab", warnings, LEADERBOARDS["skab"])


NAB_MAX_WINDOWS = 10_000  # NAB's own series hold at most a handful each


def load_nab(root: Path) -> Dataset:
    """NAB's conventions: windows are inclusive timestamp ranges; the probationary period
    (first 15 %, at most 750 rows) trains the model, its last 20 % set aside (normal) for
    the threshold; the rest is the test part."""
    labels_file = root / "labels" / "combined_windows.json"
    if not labels_file.exists():
        raise UsageError(f"{root}: not a NAB checkout (no labels/combined_windows.json)")
    try:
        windows = json.loads(files.read_text(labels_file, "NAB labels file"))
    except (json.JSONDecodeError, RecursionError) as err:
        raise UsageError(f"{labels_file}: not readable JSON ({str(err)[:120]})") from None
    if not isinstance(windows, dict):
        raise UsageError(f"{labels_file}: not NAB's labels (an object of file -> windows)")
    warnings: list[str] = []
    series: list[Series] = []
    data = (root / "data").resolve()
    outside = [
        n for n in windows if CONTROL.search(n) or not (data / n).resolve().is_relative_to(data)
    ]
    if outside:
        warnings.append(
            f"{labels_file.name}: {len(outside)} label(s) name files outside data/ "
            f"and were ignored (first: {outside[0]!r})"
        )
        windows = {n: w for n, w in windows.items() if n not in outside}
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
        stamps, values, _, _ = read_table(path, ",", NAB_COLUMNS, warnings)
        labels = np.zeros(len(values), np.int8)
        for start, end in _windows(windows[name], labels_file, name):
            inside = (stamps >= start) & (stamps <= end)
            labels[inside.to_numpy()] = 1
        probation = min(int(len(values) * NAB_PROBATION), NAB_PROBATION_MAX)
        if probation < 2 or len(values) - probation < 1:
            raise UsageError(
                f"{path}: {len(values)} rows are too few for NAB's protocol "
                "(a probationary period and a test part)"
            )
        series.append(
            _series(
                name.removesuffix(".csv"),
                values,
                labels,
                (int(probation * (1 - VAL_SHARE)), probation),
                ["value"],
            )
        )
    return Dataset("nab", series, "nab", warnings, LEADERBOARDS["nab"])


def _windows(
    given: object, labels_file: Path, name: str
) -> "list[tuple[pd.Timestamp, pd.Timestamp]]":
    """A file's label windows as [start, end] timestamps, checked."""
    import pandas as pd

    bad = UsageError(
        f"{labels_file}: the windows of {name!r} must be a list of [start, end] timestamps"
    )
    if not isinstance(given, list):
        raise bad
    if len(given) > NAB_MAX_WINDOWS:
        raise UsageError(
            f"{labels_file}: {name!r} has {len(given):,} windows, more than the "
            f"{NAB_MAX_WINDOWS:,} a labels file of NAB's holds per series"
        )
    if not all(isinstance(w, list) and len(w) == 2 for w in given):
        raise bad
    ends = timestamps(pd.Series([t for w in given for t in w], dtype=object), labels_file)
    for i, window in enumerate(given):  # one parse for all, then each checked
        if pd.isna(ends.iloc[2 * i]) or pd.isna(ends.iloc[2 * i + 1]):
            raise UsageError(
                f"{labels_file}: {name!r} has a window with an unreadable date: {window!r}"
            )
    return list(zip(ends.iloc[0::2], ends.iloc[1::2], strict=True))


def load_csv(path: Path, columns: CsvColumns) -> Dataset:
    """A user's CSV: timestamp, value column(s), optional 0/1 label; split 60/20/20."""
    warnings: list[str] = []
    _, values, labels, names = read_table(path, columns.sep, columns, warnings)
    n = len(values)
    if n < MIN_CSV_ROWS:
        raise UsageError(
            f"{path}: {n} data row(s) are too few to split 60/20/20 into "
            f"training, validation and test parts; give at least {MIN_CSV_ROWS}"
        )
    labelled = labels is not None
    if labels is None:
        labels = np.zeros(n, np.int8)
        warnings.append(
            f"{path.name}: no label column {columns.label!r}: detection quality "
            "cannot be measured, only scores"
        )
    stem = CONTROL.sub("_", path.stem)
    return Dataset(
        stem,
        [_series(stem, values, labels, (int(n * 0.6), int(n * 0.8)), names)],
        "csv",
        warnings,
        labelled=labelled,
    )
