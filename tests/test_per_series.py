"""`--per-series`: one model per series (NAB's protocol), trained on the executor, each
thresholded on its own validation part and scored together."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers import edgebench, ends, said


@pytest.fixture(scope="module")
def small_nab(tmp_path_factory):
    """Three NAB-format series: a daily cycle with noise and a labelled spike each."""
    root = tmp_path_factory.mktemp("nab")
    (root / "data" / "synthetic").mkdir(parents=True)
    (root / "labels").mkdir()
    labels = {}
    rng = np.random.default_rng(0)
    for k in range(3):
        stamps = pd.date_range("2026-01-01", periods=1500, freq="5min")
        values = 10 + np.sin(np.arange(1500) * 2 * np.pi / 288) + rng.normal(0, 0.1, 1500)
        values[1200 + 40 * k : 1210 + 40 * k] += 6
        name = f"synthetic/series_{k}.csv"
        pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": values}).to_csv(
            root / "data" / name, index=False
        )
        window = stamps[[1190 + 40 * k, 1220 + 40 * k]].strftime("%Y-%m-%d %H:%M:%S.%f")
        labels[name] = [list(window)]
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    return root


@pytest.mark.slow
def test_one_model_per_series_is_scored_on_every_test_point(small_nab, tmp_path):
    done = edgebench(
        "run", "--quick", "--arch", "seed", "--variants", "float32,int8", "--per-series",
        "--dataset", f"nab:{small_nab}", "--out", tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("float model ready") == 3
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["config"]["per_series"] is True
    for row in res["rows"]:
        ends(row["threshold_policy"], "per series")
        assert row["threshold"] == 1.0
        assert len(row["per_series"]) == 3
        assert not row.get("errors")
        assert row["test_windows"] == res["baselines"]["seed"]["test_points"]


def test_per_series_with_a_users_model_is_refused(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    done = edgebench("run", "--quick", "--per-series", "--model", model)
    assert done.returncode == 2
    said(done.stderr, "--per-series trains the archs per series")
