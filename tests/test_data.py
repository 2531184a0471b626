import numpy as np
import pytest

from bench import UsageError
from bench.data.synthetic import KINDS, StreamConfig, nepse_stream
from bench.data.windows import Scaler, make_windows

SMALL = StreamConfig(sessions=60)


def test_stream_is_deterministic_per_seed():
    a, b = nepse_stream(SMALL), nepse_stream(SMALL)
    assert np.array_equal(a.values, b.values) and np.array_equal(a.labels, b.labels)
    c = nepse_stream(StreamConfig(sessions=60, seed=8))
    assert not np.array_equal(a.values, c.values)


def test_training_part_is_normal_and_every_kind_is_in_validation_and_test():
    s = nepse_stream(SMALL)
    assert s.labels[: s.train_end].sum() == 0
    assert np.array_equal(s.labels == 1, s.kinds != "")
    for part in (slice(s.train_end, s.val_end), slice(s.val_end, None)):
        assert set(s.kinds[part]) - {""} == set(KINDS)


def test_anomalies_have_their_shape():
    s = nepse_stream(SMALL)
    assert (s.values[s.kinds == "dropout"] == 0).all()
    normal = np.median(s.values[s.labels == 0])
    assert np.median(s.values[s.kinds == "spike"]) > 4 * normal


def test_window_labels_mark_windows_holding_an_anomalous_point():
    s = nepse_stream(SMALL)
    w = make_windows(s, 10)
    for split in (w.train, w.val, w.test):
        starts = split.end - 9
        expected = [s.labels[a : e + 1].max() for a, e in zip(starts, split.end, strict=True)]
        assert np.array_equal(split.y, expected)
        assert split.x.shape == (len(split.end), 10)
    assert w.train.end[-1] < s.train_end <= w.val.end[0] - 9  # no window straddles a split
    assert len(w.test.x) == len(s.values) - s.val_end - 9


@pytest.mark.parametrize("kind", ["minmax", "standard"])
def test_scaling_is_fitted_on_training_data_only(kind):
    s = nepse_stream(SMALL)
    doctored = s.values.copy()
    doctored[s.train_end :] *= 1000.0  # anything after training must not move the scaler
    other = type(s)(s.name, doctored, s.labels, s.kinds, s.train_end, s.val_end)
    a, b = make_windows(s, 10, kind), make_windows(other, 10, kind)
    assert a.scaler == b.scaler
    assert np.array_equal(a.train.x, b.train.x)
    logs = np.log1p(s.values[: s.train_end])
    scaled = a.scaler.transform(s.values[: s.train_end])
    if kind == "minmax":
        assert scaled.min() == pytest.approx(0, abs=1e-6)
        assert scaled.max() == pytest.approx(1, abs=1e-6)
    else:
        assert scaled.mean() == pytest.approx(0, abs=1e-4)
        assert logs.std() == pytest.approx(a.scaler.scale)


@pytest.mark.parametrize("length", [0, 1, 10_000])
def test_bad_window_length_names_the_valid_range(length):
    with pytest.raises(UsageError, match=r"choose 2\.\.\d+"):
        make_windows(nepse_stream(SMALL), length)


def test_unknown_scaling_is_rejected():
    with pytest.raises(UsageError, match="minmax, standard"):
        Scaler.fit(np.ones(5), "robust")
