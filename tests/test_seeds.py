"""Figures over training seeds: parsing, Student-t intervals, verdicts, and a 3-seed run."""

import json

import pytest
from helpers import edgebench, ends, said

from bench import UsageError, seeds
from bench.choose import Constraints, within_noise
from bench.schema import Row


@pytest.mark.parametrize(("text", "message"), [("0,0", "twice"), ("0,x", "integers")])
def test_bad_seed_lists_are_refused(text, message):
    with pytest.raises(UsageError, match=message):
        seeds.parse(text)


def test_a_seed_list_is_read_in_order():
    assert seeds.parse("3,1,2") == (3, 1, 2)


def test_the_interval_is_student_t_over_the_seeds():
    mean, std, low, high = seeds.interval([1.0, 2.0, 3.0])
    assert (mean, std) == (2.0, 1.0)
    assert low == pytest.approx(2.0 - 4.302653 / 3**0.5, abs=1e-5)  # t(0.975, 2 dof)
    assert high == pytest.approx(2.0 + 4.302653 / 3**0.5, abs=1e-5)
    assert seeds.interval([0.5]) == (0.5, None, None, None)


def test_a_verdict_is_met_missed_or_within_noise():
    assert seeds.verdict([0.01, 0.012, 0.011]) == "met"
    assert seeds.verdict([-0.01, -0.012, -0.011]) == "missed"
    assert seeds.verdict([-0.004, 0.001, 0.006]) == "within noise"


def test_a_loss_whose_interval_straddles_the_limit_is_within_noise():
    limit = Constraints(max_f1_loss=0.02)
    given = {"arch": "a", "variant": "v"}
    row = {**given, "point_f1_delta_ci95_low": -0.03, "point_f1_delta_ci95_high": -0.01}
    beyond = {**row, "point_f1_delta_ci95_high": -0.025}
    found = [within_noise(Row.of(r), limit) for r in (row, beyond, given)]
    assert found == [True, False, False]


def test_bad_seeds_on_the_command_line_are_one_line_exit_2():
    done = edgebench("run", "--quick", "--seeds", "1,1")
    assert done.returncode == 2
    ends(done.stderr.strip(), "give each once")


@pytest.mark.slow
def test_a_three_seed_run_reports_intervals(tmp_path):
    done = edgebench(
        "run", "--quick", "--arch", "seed", "--variants", "float32,int8",
        "--seeds", "0,1,2", "--out", tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["config"]["seeds"] == [0, 1, 2]
    assert res["config"]["train"]["seed"] == 0
    for row in res["rows"]:
        assert row["seeds"] == [0, 1, 2]
        assert len(row["point_f1_by_seed"]) == 3
        assert row["point_f1_by_seed"][0] == row["point_f1"]  # the row is the first seed's
        assert row["point_f1_ci95_low"] <= row["point_f1_mean"] <= row["point_f1_ci95_high"]
    float32, int8 = res["rows"]
    assert float32["point_f1_delta_mean"] == 0
    # the interval of int8's F1 against float32 over three seeds reaches -0.019: past
    # its recipe's target (a loss of at most 0.01), so the target is within noise
    assert int8["point_f1_delta_ci95_low"] == pytest.approx(-0.01866, abs=1e-5)
    assert int8["f1_target"] == "loss <= 0.01"
    assert int8["f1_target_verdict"] == "within noise"
    report = (tmp_path / "REPORT.md").read_text()
    said(report, "## Across training seeds", "Seeds 0, 1, 2")
    assert (tmp_path / "plots" / "seed-seeds.png").is_file()
