import dataclasses

import numpy as np
import pytest
from helpers import said, starts
from sklearn import metrics as sk

from bench import UsageError, baselines, detection, latency, metrics, runtime, schema, size
from bench.data import Series
from bench.data.windows import make_windows
from bench.runtime import MIN_SAMPLES, Budget, LiteRT, time_invokes
from bench.schema import Detection


def test_size_matches_the_file_and_splits_into_weights_and_the_rest(tiny_models, tmp_path):
    for name, built in tiny_models.items():
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(built.model)
        s = size.measure(built.model).to_dict()
        assert s["size_bytes"] == path.stat().st_size
        assert s["size_data_bytes"] + s["size_nondata_bytes"] == s["size_bytes"]
        if not name.startswith("distilled"):  # the student is smaller by design
            assert s["params"] == 94  # the seed autoencoder, whatever the storage type
    f32 = size.measure(tiny_models["float32"].model).to_dict()
    assert f32["size_data_bytes"] == 94 * 4
    i8 = size.measure(tiny_models["int8"].model).to_dict()
    assert i8["size_data_bytes"] == 80 * 1 + 14 * 4  # int8 weights, int32 biases


def test_detection_metrics_equal_hand_computed_and_sklearn_values():
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    assert metrics.window_metrics(y, scores, threshold=0.3) == Detection(  # and nothing else
        window_precision=pytest.approx(2 / 3),
        window_recall=1.0,
        window_f1=pytest.approx(0.8),
        window_roc_auc=pytest.approx(0.75),
        window_pr_auc=pytest.approx(sk.average_precision_score(y, scores)),
    )
    assert metrics.point_metrics(y, (scores > 0.3).astype(int)) == Detection(
        point_precision=pytest.approx(2 / 3),
        point_recall=1.0,
        point_f1=pytest.approx(0.8),
        far=0.5,
        mar=0.0,
    )
    assert metrics.point_curves(y, scores) == Detection(
        point_roc_auc=pytest.approx(0.75), point_pr_auc=pytest.approx(0.8333, abs=1e-4)
    )


def test_auc_is_undefined_when_test_holds_one_class():
    m = metrics.window_metrics(np.zeros(4, int), np.arange(4.0), threshold=1.5)
    assert m == Detection(window_precision=0.0, window_recall=0.0, window_f1=0.0)
    assert metrics.point_curves(np.zeros(4, int), np.arange(4.0)) == Detection()


def test_percentile_threshold_reads_normal_validation_scores_only():
    scores = np.concatenate([np.arange(100.0), [1e6, 1e6]])
    labels = np.concatenate([np.zeros(100), [1, 1]])
    split = _split(labels)
    assert metrics.threshold_from_validation(scores, split, "percentile:50") == 49.5


def test_f1_threshold_separates_a_separable_validation_set():
    scores = np.array([0.1, 0.2, 0.3, 0.9, 1.0])
    labels = np.array([0, 0, 0, 1, 1])
    cut = metrics.threshold_from_validation(scores, _split(labels), "f1")
    assert metrics.point_metrics(labels, (scores > cut - 1e-9).astype(int)).point_f1 == 1.0


def _split(labels):
    """A validation split whose windows' and points' labels are `labels`."""
    from bench.data.windows import Split

    n = len(labels)
    y = np.asarray(labels, dtype=np.int8)
    return Split(np.zeros((n, 2), np.float32), y, np.arange(n), y, np.zeros(n, int))


def test_the_random_baseline_is_the_expected_f1_at_the_alarm_rate():
    y = np.array([1] * 10 + [0] * 90)  # 10 % anomalous
    assert metrics.random_point_f1(y, 1.0) == pytest.approx(2 * 0.1 / 1.1)  # always alarm
    assert metrics.random_point_f1(y, 0.1) == pytest.approx(0.1)
    assert metrics.random_point_f1(y, 0.0) == 0.0


def test_a_detector_no_better_than_a_baseline_is_warned_about():
    found = Detection(
        events=3,
        point_roc_auc=0.52,
        alarm_rate=0.0,
        point_f1=0.2,
        baseline_best_point_f1=0.3,
        vs_baseline="below",
        point_f1_delta_vs_baseline_low=-0.2,
        point_f1_delta_vs_baseline_high=-0.01,
    )
    warned = detection.warnings(found)
    assert len(warned) == 3
    said(warned[0], "within 0.05 of chance")
    said(warned[1], "no alarm")
    assert warned[2] == (
        "point F1 0.200 does not beat the best baseline (0.300) beyond noise; "
        "paired 95 % interval -0.200 to -0.010"
    )
    single = dataclasses.replace(
        found, point_roc_auc=None, baseline_best_point_f1=0.1, vs_baseline="above"
    )
    assert detection.warnings(single) == [
        "the test part holds a single class: precision, recall and AUC say little",
        "the threshold left no alarm on the test part",
    ]


@pytest.mark.parametrize("policy", ["percentile:0", "percentile:x", "median", "percentile:100"])
def test_bad_threshold_policy_is_a_usage_error(policy):
    with pytest.raises(UsageError, match="percentile:P"):
        metrics.check_policy(policy)


def test_batched_scores_equal_window_at_a_time_scores(tiny_ctx, tiny_models):
    x = tiny_ctx.windows.test.x[:50]
    for name in ("float32", "int8"):
        model = tiny_models[name].model
        batched = LiteRT(model).scores(x, chunk=16)
        single = [LiteRT(model).scores(w[None])[0] for w in x]
        np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-7)


def test_int8_model_takes_and_returns_int8_but_scores_in_float(tiny_models, tiny_ctx):
    host = LiteRT(tiny_models["int8"].model)
    assert host.input["dtype"] == np.int8
    assert host.output_detail["dtype"] == np.int8
    x = tiny_ctx.windows.test.x[:8]
    f32 = LiteRT(tiny_models["float32"].model).scores(x)
    np.testing.assert_allclose(host.scores(x), f32, rtol=0.3, atol=1e-3)


def test_a_model_xnnpack_refuses_runs_on_builtin_kernels_and_says_so(tiny_ctx, tiny_models):
    """A hidden layer that never fires quantizes to a scale XNNPACK will not prepare (the
    seed int8 model of SKAB at window 48 is one): LiteRT's built-in kernels run it."""
    from variants._tf import keras
    from variants.convert import to_int8

    shape = tiny_ctx.windows.train.x.shape[1:]
    never = keras.initializers.Constant(-100.0)
    dead = keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="relu", bias_initializer=never),
            keras.layers.Dense(int(np.prod(shape)), activation="sigmoid"),
            keras.layers.Reshape(shape),
        ]
    )
    model, x = to_int8(tiny_ctx, dead), tiny_ctx.windows.test.x[:8]
    host = LiteRT(model)
    said(host.xnnpack_refused, "XNNPACK", "failed to prepare")
    assert host.scores(x).shape == (8,)
    found = latency.measure(model, x, samples=MIN_SAMPLES)
    assert found.litert_xnnpack_refused == host.xnnpack_refused
    assert found.latency_samples == MIN_SAMPLES
    assert found.throughput_windows_per_s > 0
    fine = latency.measure(tiny_models["int8"].model, x, samples=MIN_SAMPLES)
    assert fine.litert_xnnpack_refused is None


def test_detection_measure_reports_every_key(tiny_ctx, tiny_models):
    reference = baselines.baselines(tiny_ctx.windows, "f1")
    assert set(reference) == {"always_alarm", "rolling_zscore"}
    assert reference["always_alarm"]["point_recall"] == 1.0
    scores = detection.candidates(tiny_ctx.windows.length)
    found = detection.measure(
        tiny_models["float32"].model, tiny_ctx.windows, "f1", reference, scores
    )
    assert list(found) == [str(s) for s in scores] == ["mean", "last", "max:2", "max:3"]
    d = found["max:3"].to_dict()
    assert set(d) == {f.name for f in dataclasses.fields(schema.Detection)}
    assert d["score_choice"] is None  # `choose` writes it
    assert None not in (d["window_f1"], d["point_f1"], d["threshold"], d["far"])
    assert d["test_windows"] == len(tiny_ctx.windows.test.x) == len(d["test_scores"])
    assert d["window_score"] == "max:3"
    assert d["point_f1_boot_low"] <= d["point_f1"] <= d["point_f1_boot_high"]
    starts(d["bootstrap"], "1,000 draws of ")


def test_latency_statistics_from_a_fake_clock(tiny_models, tiny_ctx):
    ticks = iter(range(0, 10**9, 500))  # every clock read advances 500 ns
    times = time_invokes(
        LiteRT(tiny_models["float32"].model),
        tiny_ctx.windows.test.x,
        samples=30,
        warmup=5,
        budget=Budget(clock=lambda: next(ticks)),
    )
    assert times == [500] * 30
    slow = iter(range(0, 10**12, 10**6))  # 1 ms an invoke: the budget stops it early
    times = time_invokes(
        LiteRT(tiny_models["float32"].model),
        tiny_ctx.windows.test.x,
        2000,
        budget=Budget(clock=lambda: next(slow)),
    )
    assert len(times) == runtime.MIN_SAMPLES  # 200 ms > the 50 ms budget, at the minimum
    stats = latency.summarize([1000, 2000, 3000, 4000])
    assert stats.p50 == 2.5
    assert stats.min == 1.0
    assert stats.stdev == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert stats.samples == 4
    record = schema.TflmLatency.of(stats)
    assert record.tflm_latency_us_p50 == 2.5
    assert record.tflm_latency_samples_us == [1.0, 2.0, 3.0, 4.0]
    assert record.timing == stats


def test_throughput_counts_windows_per_second_of_the_clock(tiny_models, tiny_ctx):
    def rate(budget_ns: int) -> float:
        ticks = iter(range(0, 10**12, 10**9 // 2))  # each scoring pass lasts 0.5 s
        model, x = tiny_models["float32"].model, tiny_ctx.windows.test.x
        return latency.throughput(model, x, 1000, 3, Budget(budget_ns, lambda: next(ticks)))

    assert rate(10**12) == 2000.0  # 1,000 windows a pass
    assert rate(latency.BUDGET_NS) == 128.0  # the budget shrinks the batch to 64


def test_all_rows_figures_count_the_training_rows_as_skab_does():
    labels = np.zeros(60, dtype=np.int8)
    labels[50:55] = 1
    series = Series("run", np.arange(60.0)[:, None], labels, labels.astype(object), 30, 40)
    w = make_windows(series, 5)
    parts = (metrics.tested_training(w), w.val, w.test)
    scored = [(p, p.y_end.astype(np.float32)) for p in parts]  # alarms on the anomalies
    scored[-1][1][0] = 1.0  # and one false alarm, on the first test row
    found = metrics.all_rows(w.labels, scored, 0.5)
    test = metrics.point_metrics(w.test.y_end, (scored[-1][1] > 0.5).astype(int))
    assert test.far == pytest.approx(1 / 15)  # 15 normal test rows
    assert found == Detection(
        all_rows_far=pytest.approx(1 / 55),  # 55 normal rows in all
        all_rows_mar=test.mar,
        all_rows_point_f1=pytest.approx(test.point_f1),
    )
    assert test.mar == 0
    scored[0][1][:] = 1.0  # every training row alarms: FAR counts them too
    assert metrics.all_rows(w.labels, scored, 0.5).all_rows_far == pytest.approx(27 / 55)
