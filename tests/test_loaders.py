"""NAB, SKAB and CSV loaders: the shared subsets (skipped when absent) and bad files."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import edgebench, said

from bench import UsageError
from bench.data.loaders import CsvColumns, load, load_csv, load_nab
from bench.data.windows import make_windows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")


@needs_shared
def test_skab_follows_its_protocol_and_labels():
    data = load(f"skab:{SHARED / 'skab'}")
    assert len(data.channels) == 8
    assert data.protocol == "skab"
    free, runs = data.series[0], data.series[1:]
    assert free.name == "anomaly-free"
    assert free.labels.sum() == 0
    assert free.val_end == len(free.values)
    assert len(runs) == len(list((SHARED / "skab" / "data").glob("*/*.csv"))) - 1
    for run in runs:
        frame = pd.read_csv(SHARED / "skab" / "data" / f"{run.name}.csv", sep=";")
        assert int(run.labels.sum()) == int(frame["anomaly"].sum())
        assert run.train_end == run.val_end == 400
        assert run.labels[:400].sum() == int(frame["anomaly"][:400].sum())


@needs_shared
def test_nab_windows_become_rows_and_probation_trains():
    data = load(f"nab:{SHARED / 'nab'}")
    windows = json.loads((SHARED / "nab" / "labels" / "combined_windows.json").read_text())
    assert len(data.series) == len(windows)
    for s in data.series:
        frame = pd.read_csv(SHARED / "nab" / "data" / f"{s.name}.csv")
        frame = frame.drop_duplicates("timestamp")
        stamps = pd.to_datetime(frame["timestamp"])
        expected = np.zeros(len(frame), bool)
        for start, end in windows[f"{s.name}.csv"]:
            expected |= ((stamps >= start) & (stamps <= end)).to_numpy()
        assert int(s.labels.sum()) == int(expected.sum()) > 0
        assert s.val_end == min(int(len(frame) * 0.15), 750)
    # realTraffic has gaps
    said("\n".join(data.warnings), "repeated timestamp", "gap(s)")


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def csv_rows(n=60, label_at=(50,), value=lambda i: float(i % 7)):
    lines = ["timestamp,value,label"]
    for i in range(n):
        stamp = pd.Timestamp("2024-01-01") + pd.Timedelta(minutes=5 * i)
        lines.append(f"{stamp},{value(i)},{int(i in label_at)}")
    return "\n".join(lines) + "\n"


def test_a_good_csv_loads_with_its_labels(tmp_path):
    data = load_csv(write(tmp_path / "s.csv", csv_rows()), CsvColumns())
    (s,) = data.series
    assert s.values.shape == (60, 1)
    assert s.labels.sum() == 1
    assert data.warnings == []
    assert (s.train_end, s.val_end) == (36, 48)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,value\n2024-01-01,1\n", "unknown time column 'timestamp'; did you mean 'time'?"),
        ("timestamp,label\n2024-01-01,0\n", "no value column besides the time and label"),
        (
            csv_rows().replace(",3.0,", ",abc,", 1),
            "non-numeric value(s), the first in column 'value', data row 4: 'abc'",
        ),
        ("timestamp,value\nsoon,1\nlater,2\n", "no readable timestamp in column"),
        (csv_rows().replace(",3.0,", ",inf,", 1), "infinite or overflowing value(s)"),
        (csv_rows().replace(",3.0,", ",1e308,", 1), "infinite or overflowing value(s)"),
        (csv_rows().replace(",0\n", ",2\n", 1), "label column 'label' must hold only 0 and 1"),
        ("", "not a readable"),
    ],
)
def test_bad_csvs_are_one_clear_error(tmp_path, text, message):
    with pytest.raises(UsageError) as err:
        load_csv(write(tmp_path / "bad.csv", text), CsvColumns())
    assert message in str(err.value)
    said(str(err.value), "bad.csv")


def test_what_can_be_repaired_is_a_warning_with_counts(tmp_path):
    text = csv_rows().replace(",3.0,", ",,", 1).replace(",4.0,", ",,", 1)
    lines = text.splitlines()
    lines.insert(10, lines[9])  # a duplicated row
    lines = lines[:30] + lines[40:]  # a gap of ten steps
    data = load_csv(write(tmp_path / "w.csv", "\n".join(lines) + "\n"), CsvColumns())
    warnings = " | ".join(data.warnings)
    said(
        warnings,
        "2 missing value(s) filled by linear interpolation",
        "1 repeated timestamp(s) on consecutive rows; kept the first",
        "1 gap(s) longer than twice the usual step",
    )
    assert int(np.isnan(data.series[0].values).sum()) == 0


def test_a_clock_that_steps_back_is_a_warning_and_rows_stay_in_file_order(tmp_path):
    text = csv_rows().replace("2024-01-01 00:10:00", "2024-01-01 00:00:30", 1)
    text = text.replace("2024-01-01 00:20:00", "not a time", 1)
    data = load_csv(write(tmp_path / "back.csv", text), CsvColumns())
    warnings = " | ".join(data.warnings)
    said(
        warnings,
        "the clock steps back 1 time(s), first at data row 3",
        "1 unreadable timestamp(s), the first in data row 5; rows kept",
    )
    assert data.series[0].values[:, 0].tolist() == [float(i % 7) for i in range(60)]


def test_a_series_shorter_than_a_window_is_refused(tmp_path):
    data = load_csv(write(tmp_path / "short.csv", csv_rows(n=12)), CsvColumns())
    with pytest.raises(UsageError, match="window length 10 does not fit series 'short'"):
        make_windows(data.series, 10)


def test_configurable_columns_and_several_channels(tmp_path):
    text = "when,a,b,flag\n"
    for i in range(40):
        text += f"2024-01-01 00:{i:02d}:00,{i},{2 * i},{int(i == 35)}\n"
    data = load_csv(write(tmp_path / "m.csv", text), CsvColumns("when", ("a", "b"), "flag"))
    assert data.channels == ("a", "b")
    assert data.series[0].labels.sum() == 1


def test_nab_label_windows_naming_absent_files(tmp_path):
    (tmp_path / "labels").mkdir()
    (tmp_path / "data" / "cat").mkdir(parents=True)
    write(
        tmp_path / "data" / "cat" / "a.csv",
        csv_rows(n=200).replace(",label", "").replace(",0\n", "\n").replace(",1\n", "\n"),
    )
    labels = {
        "cat/a.csv": [["2024-01-01 10:00:00", "2024-01-01 11:00:00"]],
        "cat/gone.csv": [["2024-01-01 10:00:00", "2024-01-01 11:00:00"]],
    }
    write(tmp_path / "labels" / "combined_windows.json", json.dumps(labels))
    data = load_nab(tmp_path)
    assert [s.name for s in data.series] == ["cat/a"]
    assert data.series[0].labels.sum() == 13
    said(
        data.warnings[0],
        "1 labelled file(s) absent under data/ and skipped (first: cat/gone.csv)",
    )
    write(tmp_path / "labels" / "combined_windows.json", json.dumps({"x/y.csv": []}))
    with pytest.raises(UsageError, match="none of its 1 files is under"):
        load_nab(tmp_path)


def test_unknown_dataset_spec():
    with pytest.raises(UsageError, match="use nepse, nab:PATH, skab:PATH or csv:FILE"):
        load("kaggle:x")


def _run(*args):
    return edgebench("run", "--quick", "--arch", "seed", "--variants", "float32,int8", *args)


@pytest.mark.slow
@needs_shared
@pytest.mark.parametrize("kind", ["skab", "nab"])
def test_benchmarks_run_end_to_end(tmp_path, kind):
    done = _run("--dataset", f"{kind}:{SHARED / kind}", "--out", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["dataset"]["protocol"] == kind
    assert len(res["dataset"]["series"]) == 7
    for row in res["rows"]:
        assert {
            "point_f1",
            "far",
            "mar",
            "event_recall",
            "detection_delay_mean",
            "false_alarms_per_1000",
        } <= set(row)
        assert len(row["per_series"]) >= 6
        assert row["threshold_policy"] == "percentile:99"  # validation holds no anomaly
        if kind == "skab":  # counted over every row too, as SKAB's leaderboard counts
            assert row["all_rows_far"] < row["far"]
            assert row["all_rows_mar"] == row["mar"]
    text = (tmp_path / "REPORT.md").read_text()
    said(text, "Others' published numbers, not measured here", "### Per series (point F1)")
    assert ("all-rows FAR" in text) == (kind == "skab")


def test_a_bad_csv_stops_the_run_with_one_line(tmp_path):
    bad = write(tmp_path / "bad.csv", "timestamp,value\n2024-01-02,1\n2024-01-01,inf\n")
    done = _run("--dataset", f"csv:{bad}", "--out", tmp_path / "out")
    assert done.returncode == 2
    said(done.stderr, "infinite or overflowing value(s)")
    assert len(done.stderr.strip().splitlines()) == 1
