import numpy as np
import pytest

from bench import UsageError
from bench.data.synthetic import KINDS, StreamConfig, nepse_stream
from bench.data.windows import Scaler, make_windows

SMALL = StreamConfig(sessions=60)


def test_stream_is_deterministic_per_seed():
    a, b = nepse_stream(SMALL), nepse_stream(SMALL)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.labels, b.labels)
    c = nepse_stream(StreamConfig(sessions=60, seed=8))
    assert not np.array_equal(a.values, c.values)


def test_training_part_is_normal_and_every_kind_is_in_validation_and_test():
    s = nepse_stream(SMALL)
    assert s.labels[: s.train_end].sum() == 0
    np.testing.assert_array_equal(s.labels == 1, s.kinds != "")
    for part in (slice(s.train_end, s.val_end), slice(s.val_end, None)):
        assert set(s.kinds[part]) - {""} == set(KINDS)


def test_anomalies_have_their_shape():
    s = nepse_stream(SMALL)
    volume = s.values[:, 0]
    np.testing.assert_array_equal(volume[s.kinds == "dropout"], 0)
    normal = np.median(volume[s.labels == 0])
    assert np.median(volume[s.kinds == "spike"]) > 4 * normal


def test_window_labels_and_streaming_ends():
    s = nepse_stream(SMALL)
    w = make_windows(s, 10)
    for split in (w.train, w.val, w.test):
        starts = split.end - 9
        expected = [s.labels[a : e + 1].max() for a, e in zip(starts, split.end, strict=True)]
        np.testing.assert_array_equal(split.y, expected)
        np.testing.assert_array_equal(split.y_end, s.labels[split.end])
        assert split.x.shape == (len(split.end), 10)
    assert w.train.end[-1] < s.train_end
    assert w.train.y.sum() == 0
    # every validation and test point gets the window that ends at it, history included
    np.testing.assert_array_equal(w.val.end, np.arange(s.train_end, s.val_end))
    np.testing.assert_array_equal(w.test.end, np.arange(s.val_end, len(s.values)))
    first = w.test.x[0]
    np.testing.assert_allclose(
        first, w.scaler.transform(s.values[s.val_end - 9 : s.val_end + 1]).ravel()
    )


def test_multichannel_windows_flatten_time_by_channel():
    from bench.data import Series

    n = 50
    values = np.stack([np.arange(n, dtype=float), 100 + np.arange(n, dtype=float)], axis=1)
    labels = np.zeros(n, np.int8)
    labels[45] = 1
    s = Series("two", values, labels, np.full(n, "", object), 30, 40, ("a", "b"))
    w = make_windows([s, s], 4, "minmax")
    assert w.channels == 2
    assert w.train.x.shape[1] == 8
    assert w.series_names == ("two", "two")
    assert set(w.test.series) == {0, 1}
    raw = w.scalers[0].transform(values[36:40]).ravel()
    np.testing.assert_allclose(w.val.x[w.val.end.tolist().index(39)], raw)


@pytest.mark.parametrize("kind", ["minmax", "standard"])
def test_scaling_is_fitted_on_training_data_only(kind):
    s = nepse_stream(SMALL)
    doctored = s.values.copy()
    doctored[s.train_end :] *= 1000.0  # anything after training must not move the scaler
    other = type(s)(s.name, doctored, s.labels, s.kinds, s.train_end, s.val_end, s.channels, s.log)
    a, b = make_windows(s, 10, kind), make_windows(other, 10, kind)
    assert a.scaler == b.scaler
    np.testing.assert_array_equal(a.train.x, b.train.x)
    logs = np.log1p(s.values[: s.train_end])
    scaled = a.scaler.transform(s.values[: s.train_end])
    if kind == "minmax":
        assert scaled.min() == pytest.approx(0, abs=1e-6)
        assert scaled.max() == pytest.approx(1, abs=1e-6)
    else:
        assert scaled.mean() == pytest.approx(0, abs=1e-4)
        assert logs.std() == pytest.approx(a.scaler.scale[0])


@pytest.mark.parametrize("length", [0, 1, 10_000])
def test_bad_window_length_names_the_valid_range(length):
    with pytest.raises(UsageError, match=r"choose 2\.\.\d+ \(its training part"):
        make_windows(nepse_stream(SMALL), length)


def test_unknown_scaling_is_rejected():
    with pytest.raises(UsageError, match="minmax, standard"):
        Scaler.fit(np.ones(5), "robust")
