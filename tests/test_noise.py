"""Scores that localise, block-bootstrap intervals, and fidelity to float32."""

import dataclasses

import numpy as np
import pytest

from bench import UsageError, bootstrap, detection, fidelity, metrics, nab
from bench.detection import Score
from bench.schema import Detection, Identity, Row, Trace


def _stream(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two series of labelled points with runs of anomalies, and noisy alarms."""
    rng = np.random.default_rng(seed)
    y = np.zeros(600, dtype=np.int8)
    for start in (50, 200, 330, 480, 560):
        y[start : start + 12] = 1
    alarms = np.where(y == 1, rng.random(600) < 0.6, rng.random(600) < 0.05)
    series = np.repeat([0, 1], 300)
    return y, alarms.astype(int), series


def test_a_draw_that_takes_every_block_once_gives_the_harness_figures():
    y, alarms, series = _stream()
    cut = bootstrap.Blocks.cut(series, 25)
    assert cut.count == 24  # 300 points of each series in 12 blocks of 25
    assert set(cut.of_point[series == 0]).isdisjoint(cut.of_point[series == 1])
    whole = dataclasses.replace(cut, weights=np.ones((1, cut.count)))
    drawn = {k: v[0] for k, v in bootstrap.figures(whole, y, alarms, series).items()}
    points = metrics.point_metrics(y, alarms)
    events = metrics.events(y, alarms, series)
    assert drawn["point_f1"] == pytest.approx(points.point_f1)
    assert drawn["far"] == pytest.approx(points.far)
    assert drawn["event_recall"] == pytest.approx(events.event_recall)
    expected = nab.score(y, alarms, series)["nab_score_standard"]
    assert drawn["nab_score_standard"] == pytest.approx(expected)


def test_draws_are_seeded_and_paired():
    y, alarms, series = _stream()
    first, again = bootstrap.Blocks.cut(series, 25), bootstrap.Blocks.cut(series, 25)
    np.testing.assert_array_equal(first.weights, again.weights)
    assert first.weights.shape == (bootstrap.DRAWS, 24)
    np.testing.assert_array_equal(first.weights.sum(axis=1), 24)  # each draw takes as many blocks
    f1 = bootstrap.points(first, y, alarms)["point_f1"]
    # the same alarms differenced draw by draw: exactly zero, no spread
    assert bootstrap.interval(f1 - bootstrap.points(first, y, alarms)["point_f1"]) == (0.0, 0.0)
    low, high = bootstrap.interval(f1)
    assert low < (metrics.point_metrics(y, alarms).point_f1 or 0.0) < high
    assert high - low > 0.05  # five events: the interval is wide


def test_a_verdict_says_where_the_interval_lies():
    assert bootstrap.verdict(0.01, 0.2) == "above"
    assert bootstrap.verdict(-0.2, -0.01) == "below"
    assert bootstrap.verdict(-0.01, 0.2) == "within noise"
    assert bootstrap.verdict(-0.03, 0.0, line=-0.02) == "within noise"
    assert bootstrap.verdict(None, None) is None
    # a figure most draws leave undefined gets no interval
    assert bootstrap.interval(np.array([np.nan] * 6 + [0.5] * 4)) == (None, None)


def test_blocks_are_at_least_a_window_long():
    assert bootstrap.block_length(577, 48) == 48
    assert bootstrap.block_length(100_000, 10) == 47  # cube root, rounded up


def test_scores_read_the_newest_points():
    errors = np.array([[1.0, 1.0, 9.0, 1.0, 2.0, 4.0]])  # 3 points of 2 channels
    assert Score.parse("mean").of(errors, 2)[0] == pytest.approx(18 / 6)
    assert Score.parse("last").of(errors, 2)[0] == pytest.approx(3.0)  # (2 + 4) / 2
    assert Score.parse("max:2").of(errors, 2)[0] == pytest.approx(5.0)  # (9 + 1) / 2
    assert str(Score.parse("max:7")) == "max:7"
    assert Score.parse("max:7").newest(48) == 7
    for bad in ("max:1", "max:x", "median", ""):
        with pytest.raises(UsageError, match="--score"):
            Score.parse(bad)
    with pytest.raises(UsageError, match="a window holds 10 points; use k <= 10"):
        detection.check_score("max:12", 10)
    detection.check_score("auto", 10)
    assert [str(s) for s in detection.candidates(48)] == ["mean", "last", "max:3", "max:12"]


def test_auto_chooses_on_validation_pr_auc():
    found = [
        Detection(window_score="mean", validation_point_pr_auc=0.4),
        Detection(window_score="last", validation_point_pr_auc=0.7),
        Detection(window_score="max:3", validation_point_pr_auc=0.7),
    ]
    best = detection.choose(found, "float32")
    assert best.window_score == "last"  # ties: the earlier
    assert best.score_choice == (
        "last: best validation PR-AUC of float32 (mean 0.400, last 0.700, max:3 0.700)"
    )
    blind = detection.choose([Detection(window_score="mean"), Detection(window_score="last")], "x")
    assert blind.window_score == "mean"
    assert blind.score_choice == "mean: validation holds no anomaly to choose on"


def _row(scores: np.ndarray, threshold: float, f1: float) -> Row:
    found = Detection(
        test_scores=[float(s) for s in scores],
        threshold=threshold,
        point_f1=f1,
        point_pr_auc=0.5,
        point_roc_auc=0.8,
    )
    return Row(Identity(variant="v", arch="a", window=25), detection=found)


def test_fidelity_to_float32():
    y, _, series = _stream()
    rng = np.random.default_rng(1)
    ref_scores = y + rng.random(600)
    trace = Trace(end=list(range(len(y))), y=y.tolist(), series=series.tolist(), names=["s"])
    ref = _row(ref_scores, 1.0, 0.9)
    same = fidelity.compare(ref, ref, trace)
    assert same["score_rank_correlation"] == pytest.approx(1.0)
    assert same["decision_agreement"] == 1.0
    assert same["point_f1_delta_vs_float32_low"] == same["point_f1_delta_vs_float32_high"] == 0
    assert same["point_pr_auc_delta_vs_float32"] == 0
    # a variant that ranks the points in reverse
    flipped = fidelity.compare(_row(-ref_scores, -1.0, 0.1), ref, trace)
    assert flipped["score_rank_correlation"] == pytest.approx(-1.0)
    # float32 alarms on the 60 anomalous points; the reversed top 60 are all normal
    assert flipped["decision_agreement"] == pytest.approx(1 - 120 / 600)
    assert flipped["point_f1_delta_vs_float32_high"] < -0.5
    # a monotone change of scale: the same ranks, so the same decisions at the same count
    scaled = fidelity.compare(_row(3 * ref_scores + 1, 0.5, 0.5), ref, trace)
    assert scaled["score_rank_correlation"] == pytest.approx(1.0)
    assert scaled["decision_agreement"] == 1.0
    # its own threshold (0.5, below every score) alarms everywhere: the F1 lost is the
    # threshold's; at float32's alarm count it loses nothing
    assert scaled["point_f1_delta_vs_float32_high"] < -0.5
    assert scaled["point_f1_matched_delta_vs_float32"] == 0
    assert scaled["point_f1_matched_delta_vs_float32_low"] == 0
    assert scaled["point_f1_matched_delta_vs_float32_high"] == 0
    assert flipped["point_f1_matched_delta_vs_float32_high"] < -0.5


def test_a_recipe_target_is_judged_on_the_paired_interval():
    from variants import F1Target

    y, _, series = _stream()
    trace = Trace(end=list(range(len(y))), y=y.tolist(), series=series.tolist(), names=["s"])
    rng = np.random.default_rng(2)
    ref = _row(y + rng.random(600), 1.0, 0.9)
    target = F1Target(max_loss=0.02)
    assert fidelity.compare(ref, ref, trace, target)["f1_target_judged"] == "met"
    noisy = _row(y + 1.2 * rng.random(600), 1.0, 0.8)
    judged = fidelity.compare(noisy, ref, trace, target)["f1_target_judged"]
    assert judged in ("missed", "within noise")
    assert fidelity.compare(_row(-y, 0.5, 0.0), ref, trace, target)["f1_target_judged"] == "missed"
