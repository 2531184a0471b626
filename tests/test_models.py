"""A user's own model through `edgebench run --model`: Keras and .tflite files made
outside the registry, and the bad ones refused in one line."""

import json
from pathlib import Path

import pytest
from helpers import edgebench, said, starts, unsaid


@pytest.fixture(scope="module")
def user_models(tmp_path_factory):
    """Models made outside the registry: a Keras window AE, a Lambda model, a conv net."""
    from variants._tf import keras
    from variants.convert import to_tflite

    folder = tmp_path_factory.mktemp("user")
    keras.utils.set_random_seed(1)
    dense = lambda n, **kw: keras.layers.Dense(n, bias_initializer="random_normal", **kw)  # noqa: E731
    ae = keras.Sequential([keras.layers.Input((24,)), dense(6, activation="tanh"), dense(24)])
    ae.save(folder / "ae.keras")
    ae.save(folder / "ae.h5")
    lam = keras.Sequential([keras.layers.Input((24,)), keras.layers.Lambda(lambda x: x * 2)])
    lam.save(folder / "lambda.keras")
    lam.save(folder / "lambda.h5")
    conv = keras.Sequential(
        [
            keras.layers.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    (folder / "conv.tflite").write_bytes(to_tflite(conv))
    (folder / "ae.tflite").write_bytes(to_tflite(ae))
    return folder


@pytest.mark.parametrize("name", ["ae.keras", "ae.h5"])
def test_registry_variants_are_built_from_a_users_keras_model(user_models, tmp_path, name):
    done = edgebench(
        "run",
        "--quick",
        "--model",
        user_models / name,
        "--out",
        tmp_path,
        "--variants",
        "float32,int8",
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [(r["arch"], r["variant"], r["window"]) for r in rows] == [
        ("user", "float32", 24),
        ("user", "int8", 24),
    ]
    assert [r["params"] for r in rows] == [24 * 6 + 6 + 6 * 24 + 24] * len(rows)
    assert [r["errors"] for r in rows if r["errors"]] == []
    assert rows[1]["tflm_deployable"]
    # scored on the built-in stream only to compare with float32, never as a verdict
    said(rows[1]["detection_skipped"], "pass --dataset")
    assert -1 <= rows[1]["score_rank_correlation"] <= 1
    assert rows[1]["trained_on"] == "nepse (the built-in stream: no --dataset given)"
    assert rows[0].get("trained_on") is None  # float32's conversion reads no data


def _one_row(model, out, *options) -> dict:
    """`edgebench run --quick --model MODEL`, which must succeed: the row it writes."""
    done = edgebench("run", "--quick", "--model", model, "--out", out, *options)
    assert done.returncode == 0, done.stderr
    (row,) = json.loads((out / "results.json").read_text())["rows"]
    return row


def test_a_models_detection_needs_the_data_named(user_models, tmp_path):
    done = edgebench("run", "--quick", "--model", user_models / "ae.tflite", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    (row,) = json.loads((tmp_path / "results.json").read_text())["rows"]
    unsaid(row, "point_f1")
    said(row["detection_skipped"], "pass --dataset")
    assert row["tflm_instructions"] > 0
    assert row["arena_bytes"] > 0
    report = (tmp_path / "REPORT.md").read_text()
    said(report, "## Detection not measured")
    # it still gets its answer, by fit and energy, and the first line says why and how
    lines = [line for line in done.stdout.splitlines() if not line.startswith("[")]  # no logs
    basis, first = [line for line in lines if line.strip()][:2]
    starts(basis, "Board figures: host proxies, no firmware was built")
    starts(first, "Detection was not scored (")
    said(first, "pass --dataset")
    unsaid(done.stdout, "none qualifies")
    assert done.stdout.count("| user   | ae ") == len(row["boards"])
    said(report, "**Detection was not scored")


def test_a_users_tflite_is_measured_as_it_is(user_models, tmp_path):
    row = _one_row(user_models / "ae.tflite", tmp_path, "--dataset", "nepse")
    assert (row["arch"], row["variant"], row["window"]) == ("user", "ae", 24)
    assert row["point_f1"] is not None
    assert row["arena_bytes"] > 0
    assert not row["errors"]


def test_a_non_window_tflite_gets_every_metric_but_detection(user_models, tmp_path):
    row = _one_row(user_models / "conv.tflite", tmp_path, "--dataset", "nepse")
    assert row["ops"] == {"CONV_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1}
    assert row["tflm_deployable"]
    assert row["latency_us_p50"] > 0
    unsaid(row, "point_f1")
    said(row["detection_skipped"], "not a window autoencoder")
    said((tmp_path / "REPORT.md").read_text(), "## Detection not measured")


def _bad_models(folder, user_models):
    good = (user_models / "ae.tflite").read_bytes()
    files = {
        "empty.tflite": b"",
        "truncated.tflite": good[: len(good) // 2],
        "text.tflite": b"this is not a flatbuffer at all" * 4,
        "broken.keras": b"PK\x03\x04 not really a zip",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {
        "missing.tflite": "no such model file",
        "empty.tflite": "the model file is empty",
        "truncated.tflite": "not a valid .tflite model",
        "text.tflite": "not a valid .tflite model",
        "broken.keras": "cannot load this Keras model",
        "model.onnx": "unknown model type '.onnx'",
    }


def test_bad_model_files_are_one_line_exit_2(user_models, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    earlier = Path(__file__).parent / "golden" / "results-small.json"
    (out / "results.json").write_bytes(earlier.read_bytes())  # an earlier run's results
    before = (out / "results.json").read_bytes()
    for name, message in _bad_models(tmp_path, user_models).items():
        done = edgebench("run", "--quick", "--model", tmp_path / name, "--out", out)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, (name, lines)
        assert len(lines) == 1, (name, lines)
        assert message in lines[0], (name, lines)
    assert (out / "results.json").read_bytes() == before


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_keras_models_load_in_safe_mode(user_models, tmp_path, name):
    done = edgebench("run", "--quick", "--model", user_models / name, "--out", tmp_path)
    assert done.returncode == 2
    said(done.stderr, "Lambda layer")
    assert len(done.stderr.strip().splitlines()) == 1


def test_window_option_must_match_the_models_input(user_models, tmp_path):
    done = edgebench(
        "run", "--quick", "--model", user_models / "ae.keras", "--window", "10", "--out", tmp_path
    )
    assert done.returncode == 2
    said(done.stderr, "takes windows of 24, but --window is 10")
