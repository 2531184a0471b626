"""NAB's scoring, checked against hand-worked cases of its published definition, and a NAB
run over real files whose clock steps back."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import edgebench, said

from bench import nab

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.parametrize(
    ("position", "value"),
    [(-1.0, 0.98661), (-0.5, 0.84828), (0.0, 0.0), (1.0, -0.98661), (3.0, -1.0), (7.0, -1.0)],
)
def test_the_scaled_sigmoid_matches_nabs_documented_values(position, value):
    assert nab.scaled_sigmoid(position) == pytest.approx(value, abs=5e-6)


def _one_window(*alarm_at: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """40 points, a window on 10..19 (width 10), alarms where asked."""
    y = np.zeros(40, int)
    y[10:20] = 1
    alarms = np.zeros(40, int)
    alarms[list(alarm_at)] = 1
    return y, alarms, np.zeros(40, int)


def test_the_null_and_the_perfect_detector_score_0_and_100():
    assert nab.score(*_one_window())["nab_score_standard"] == 0.0
    assert nab.score(*_one_window(10))["nab_score_standard"] == pytest.approx(100.0)
    # later detections in the same window add nothing
    assert nab.score(*_one_window(10, 12, 19))["nab_score_standard"] == pytest.approx(100.0)


def test_a_late_detection_earns_less():
    # at the right edge: position -(19 - 19 + 1) / 10 = -0.1
    tp = (2 / (1 + math.exp(-0.5)) - 1) / nab.MAX_TP
    got = nab.score(*_one_window(19))["nab_score_standard"]
    assert got == pytest.approx(100 * (tp + 1) / 2)


def test_false_alarms_cost_by_profile():
    # one alarm before any window costs the whole fp weight: raw 1 - fp
    scores = nab.score(*_one_window(3, 10))
    assert scores["nab_score_standard"] == pytest.approx(100 * (1 - 0.11 + 1) / 2)
    assert scores["nab_score_low_fp"] == pytest.approx(100 * (1 - 0.22 + 1) / 2)
    assert scores["nab_score_low_fn"] == pytest.approx(100 * (1 - 0.11 + 2) / 3)
    # one alarm just past the window: position |19 - 21| / (10 - 1)
    past = 0.11 * nab.scaled_sigmoid(2 / 9)
    got = nab.score(*_one_window(10, 21))["nab_score_standard"]
    assert got == pytest.approx(100 * (1 + past + 1) / 2)


def test_series_add_up_before_normalising():
    y1, a1, _ = _one_window(10)
    y2, a2, _ = _one_window()
    y, alarms = np.concatenate([y1, y2]), np.concatenate([a1, a2])
    series = np.repeat([0, 1], 40)
    assert nab.score(y, alarms, series)["nab_score_standard"] == pytest.approx(50.0)


def test_the_sweep_is_the_best_score_over_every_threshold():
    rng = np.random.default_rng(0)
    y = np.zeros(300, int)
    y[50:60], y[200:230] = 1, 1  # series 1 holds no window: its false alarms still cost
    series = np.repeat([0, 1, 2], 100)
    scores = rng.random(300) + y * rng.random(300)
    every = [nab.score(y, scores > cut, series)["nab_score_standard"] for cut in scores]
    assert nab.swept(y, scores, series) == pytest.approx(max(every), abs=1e-9)
    starts = np.zeros(300)
    starts[[50, 200]] = 1.0  # alarms at each window's start alone: the perfect detector
    assert nab.swept(y, starts, series) == pytest.approx(100.0)
    assert nab.swept(y, -starts, series) == pytest.approx(0.0)  # no alarm is best: null
    assert nab.swept(np.zeros(9, int), np.arange(9.0), np.zeros(9, int)) is None


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
def test_a_nab_run_over_a_series_whose_clock_steps_back(tmp_path):
    """The repo's NAB subset plus a copy of one series with its clock set back an hour
    (as realKnownCause/machine_temperature_system_failure does): the run goes on, the
    step is a counted warning, every variant gets a NAB score."""
    root = tmp_path / "nab"
    shutil.copytree(SHARED / "nab", root)
    source = root / "data" / "artificialWithAnomaly" / "art_daily_jumpsup.csv"
    frame = pd.read_csv(source)
    stamps = pd.to_datetime(frame["timestamp"])
    stamps.iloc[2000:] -= pd.Timedelta(hours=1)
    frame["timestamp"] = stamps.dt.strftime("%Y-%m-%d %H:%M:%S")
    (root / "data" / "stepback").mkdir()
    frame.to_csv(root / "data" / "stepback" / "jumpsup_stepback.csv", index=False)
    labels = json.loads((root / "labels" / "combined_windows.json").read_text())
    labels["stepback/jumpsup_stepback.csv"] = labels["artificialWithAnomaly/art_daily_jumpsup.csv"]
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    done = edgebench(
        "run",
        "--quick",
        "--arch",
        "seed",
        "--variants",
        "float32,int8",
        "--dataset",
        f"nab:{root}",
        "--out",
        tmp_path / "out",
    )
    assert done.returncode == 0, done.stderr
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    said(
        "\n".join(res["dataset"]["warnings"]),
        "jumpsup_stepback.csv: the clock steps back 1 time(s), first at data row 2001",
    )
    for row in res["rows"]:
        assert isinstance(row["nab_score_standard"], float)
        assert row["nab_score_standard"] <= 100
        # swept over every threshold, as the scoreboard's are: never below the null's 0
        assert row["nab_score_standard"] <= row["nab_score_standard_swept"] <= 100
        assert row["nab_score_standard_swept"] >= 0
        said(row["per_series"], "stepback/jumpsup_stepback")
    text = (tmp_path / "out" / "REPORT.md").read_text()
    said(text, "HTM 70.5, RCF 51.7. Compare with `NAB std swept` below")
