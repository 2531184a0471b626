"""The model families engineers build: Conv1D and LSTM autoencoders, built in and brought
in, converted at batch 1 and run on TFLite Micro; what does not run says why."""

import json

import pytest
from helpers import edgebench, said, starts

from bench import graph, tflm
from bench.build import BuildContext, build
from bench.cache import Cache
from bench.runtime import mean_error
from variants import REGISTRY, NotApplicable
from variants.baseline import ARCHS, TrainConfig


@pytest.fixture(scope="module", params=["conv", "lstm"])
def family(request, cache_dir):
    from bench.data.synthetic import StreamConfig, nepse_stream
    from bench.data.windows import make_windows

    windows = make_windows(nepse_stream(StreamConfig(sessions=30)), 16)
    return BuildContext(
        ARCHS[request.param],
        windows,
        TrainConfig(epochs=1),
        {"family": request.param},
        Cache(cache_dir),
    )


@pytest.mark.parametrize("variant", ["float32", "int8", "distilled_int8"])
def test_each_family_converts_quantizes_and_runs_on_tflm(family, variant):
    model = build(REGISTRY[variant], family).model
    shape = graph.measure(model)
    found = tflm.arena(model)
    assert found.tflm_deployable, found.tflm_error
    assert shape.input_elements == 16  # batch 1, as firmware runs it
    expected = {"conv": {"CONV_2D", "TRANSPOSE_CONV"}, "lstm": {"UNIDIRECTIONAL_SEQUENCE_LSTM"}}[
        family.arch.family
    ]
    assert expected <= set(shape.ops)
    agree = tflm.agreement(
        model, found.arena_bytes, family.windows.test.x[:64], [(0.01, mean_error)]
    )[0]
    assert agree.tflm_score_max_abs_diff < (1e-4 if variant == "float32" else 0.05)


def test_qat_builds_for_conv1d_and_says_why_not_for_lstm(family):
    if family.arch.family == "lstm":
        with pytest.raises(NotApplicable, match="no QuantizeConfig for it"):
            build(REGISTRY["qat"], family)
        return
    model = build(REGISTRY["qat"], family).model  # Conv1D via edgebench's Conv1DConfig
    assert graph.float_compute_ops(model) == []
    assert tflm.arena(model).tflm_deployable


def test_recipes_that_do_not_apply_say_why(family):
    with pytest.raises(NotApplicable, match=r"no Dense layer|no 16x8 quantization for"):
        build(REGISTRY["int8_per_tensor" if family.arch.family == "conv" else "int16x8"], family)


def test_an_lstm_scores_each_window_from_a_reset_state(family):
    """A converted LSTM keeps its state in variable tensors; without a reset before each
    window, the same window would score differently on a second invoke."""
    from bench.runtime import LiteRT, Micro

    model = build(REGISTRY["float32"], family).model
    assert graph.stateful(model) == (family.arch.family == "lstm")
    x = family.windows.test.x[[0, 1, 0]]
    arena = tflm.arena(model).arena_bytes
    assert arena is not None
    for runtime in (LiteRT(model), Micro(model, arena)):
        first, _, again = runtime.scores(x)
        assert first == again


@pytest.fixture(scope="module")
def user_models(tmp_path_factory):
    """Untrained (window 48, 1 channel) models as users write them."""
    from variants._tf import keras

    layers, folder = keras.layers, tmp_path_factory.mktemp("families")
    keras.utils.set_random_seed(0)
    transpose = keras.Sequential(
        [
            layers.Input((48, 1)),
            layers.Conv1D(8, 5, strides=2, padding="same", activation="relu"),
            layers.Conv1DTranspose(8, 5, strides=2, padding="same", activation="relu"),
            layers.Conv1D(1, 5, padding="same"),
        ]
    )
    upsample = keras.Sequential(
        [
            layers.Input((48, 1)),
            layers.Conv1D(8, 5, strides=2, padding="same"),
            layers.UpSampling1D(2),
            layers.Conv1D(1, 5, padding="same"),
        ]
    )
    gru = keras.Sequential(
        [
            layers.Input((48, 1)),
            layers.GRU(8),
            layers.Dense(48 * 4),
            layers.Reshape((48, 4)),
            layers.GRU(8, return_sequences=True),
            layers.TimeDistributed(layers.Dense(1)),
        ]
    )
    gru.save(folder / "gru.keras")
    transpose.save(folder / "transpose.keras")
    upsample.save(folder / "upsample.keras")
    return folder


def test_a_users_conv1dtranspose_model_runs_on_tflm(user_models, tmp_path):
    done = edgebench(
        "run",
        "--quick",
        "--model",
        user_models / "transpose.keras",
        "--variants",
        "float32,int8",
        "--out",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [(r["variant"], r["tflm_deployable"]) for r in rows] == [
        ("float32", True),
        ("int8", True),
    ]


def test_upsampling1d_is_refused_with_the_rewrite(user_models, tmp_path):
    done = edgebench(
        "run",
        "--quick",
        "--model",
        user_models / "upsample.keras",
        "--variants",
        "float32",
        "--out",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    (row,) = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert not row["tflm_deployable"]
    assert row["ops"]["CONCATENATION"] == 1
    starts(row["tflm_advice"], "CONCATENATION: UpSampling1D lowers")
    said(row["tflm_advice"], "use Conv1DTranspose")
    said((tmp_path / "REPORT.md").read_text(), "(CONCATENATION: UpSampling1D")


@pytest.mark.slow
def test_a_users_gru_model_gets_the_advisors_reason_and_its_crash_costs_one_row(
    user_models, tmp_path
):
    """A GRU converts to WHILE loops; TFLM does not finish this one's (a sequence-to-
    sequence GRU decoder) within the probe's time; its int8 conversion crashes the TF
    converter (SIGSEGV), which costs its worker process and its own row only: pruned50,
    built in one job with pruned50_int8, survives its child's crash."""
    done = edgebench(
        "run", "--quick", "--model", user_models / "gru.keras",
        "--variants", "float32,int8,pruned50,pruned50_int8", "--out", tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {r["variant"]: r for r in json.loads((tmp_path / "results.json").read_text())["rows"]}
    float32 = rows["float32"]
    assert not float32["tflm_deployable"]
    said(float32["tflm_advice"], "WHILE", "use an LSTM")
    assert not rows["pruned50"]["errors"]
    for name in ("int8", "pruned50_int8"):
        error = rows[name]["errors"]["build"]
        assert error["kind"] == "WorkerDied"
        assert error["message"] == f"the TFLite converter crashed (SIGSEGV) quantizing {name}"


def test_distillation_works_on_a_users_keras_model(user_models, tmp_path):
    """It failed on every user model ("Unknown activation function ''"): a user's arch
    had no output activation and no student widths."""
    done = edgebench(
        "run", "--quick", "--model", user_models / "transpose.keras",
        "--variants", "float32,distilled,distilled_int8", "--out", tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {r["variant"]: r for r in json.loads((tmp_path / "results.json").read_text())["rows"]}
    assert set(rows) == {"float32", "distilled", "distilled_int8"}
    for name in ("distilled", "distilled_int8"):
        assert not rows[name]["errors"], rows[name]["errors"]
        assert rows[name]["tflm_deployable"]
        assert rows[name]["params"] < rows["float32"]["params"]  # a student, smaller
