"""The report from a committed small results file: golden markdown, real PNGs."""

import copy
import shutil
from pathlib import Path

import pytest
from helpers import said, starts

from bench import report, results
from bench.choose import Constraints, answer, held_back, latency_over, pareto, within_noise
from bench.schema import Row

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def small():
    return results.read(GOLDEN / "results-small.json")


def test_report_matches_the_golden_file(small, tmp_path):
    path = report.write(small, tmp_path)
    assert path.read_text() == (GOLDEN / "REPORT.md").read_text()


def test_plots_are_written_as_nonempty_pngs_and_linked(small, tmp_path):
    text = report.write(small, tmp_path).read_text()
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert [p.name for p in pngs] == [
        "seed-energy.png",
        "seed-latency.png",
        "seed-memory.png",
        "seed-scores.png",
        "seed-size-vs-f1.png",
    ]
    sizes = {  # width x height: each figure's size at 100 dpi
        "seed-energy.png": (1200, 450),  # the legend beside the axes
        "seed-latency.png": (1200, 450),  # LiteRT and TFLM side by side
        "seed-memory.png": (1100, 375),  # 5 variants: 0.35 in each + 2
        "seed-scores.png": (1100, 400),
        "seed-size-vs-f1.png": (900, 500),  # the legend beside the axes
    }
    for png in pngs:
        data = png.read_bytes()
        starts(data, b"\x89PNG\r\n\x1a\n")
        shape = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert shape == sizes[png.name]
        said(text, f"(plots/{png.name})")


def test_summary_comes_first_and_names_the_refused(small, tmp_path):
    text = report.render(small)
    assert text.index("## The answer: which variant to ship") < text.index("## Architecture")
    said(
        text,
        "- `seed/float16`: not deployable on TFLite Micro (DEQUANTIZE: float16 weights: "
        "TFLM's DEQUANTIZE takes int8/int16 only; ship float32, or a full-integer int8 variant)",
        "- `seed/float16`: tensorflow/lite/micro/kernels/dequantize",  # its words
        "## Environment",
        "## Reproduce",
    )
    assert small.command in text


def test_constraints_change_the_answer(small):
    rows, board = small.rows, next(iter(small.boards))
    shipped = answer(rows, Constraints(), board)
    assert shipped is not None
    assert shipped.tflm.tflm_deployable is True
    energies = [
        r.boards.boards[board].est_energy_uj
        for r in rows
        if Constraints().rejects(r) is None and r.boards.boards[board].fits
    ]
    assert shipped.boards.boards[board].est_energy_uj == min(energies)
    assert answer(rows, Constraints(min_f1=2.0), board) is None
    assert answer(rows, Constraints(max_est_latency_ms=1e-9), board) is None


def test_a_latency_limit_is_met_only_by_the_intervals_upper_end(small):
    """The variant that ships without a limit, under a limit its estimate meets but its
    90 % interval does not: held back, and the answer says it is within noise; under a
    limit the interval meets, it ships; without an interval it cannot meet a limit."""
    res = copy.deepcopy(small)
    rows, board = res.rows, next(iter(res.boards))
    for row in rows:
        est = row.boards.boards[board]
        est.est_latency_ms_low, est.est_latency_ms_high = (
            0.9 * est.est_latency_ms,
            1.2 * est.est_latency_ms,
        )
    free = answer(rows, Constraints(), board)
    assert free is not None
    ms = free.boards.boards[board].est_latency_ms
    tight = Constraints(max_est_latency_ms=1.1 * ms)
    assert answer(rows, tight, board) is not free
    assert (held_back(rows, tight, board), latency_over(free, tight, board)) == (
        free,
        "within noise",
    )
    text = report.answer_text(res, tight)
    said(
        text.splitlines(),
        f"- {board}, `seed`: `{free.variant}` would ship, but its estimate {ms:.3g} ms meets "
        f"the {1.1 * ms:g} ms limit only on its face; its 90 % interval reaches "
        f"{1.2 * ms:.3g} ms: within noise.",
    )
    assert answer(rows, Constraints(max_est_latency_ms=1.3 * ms), board) is free
    free.boards.boards[board].est_latency_ms_high = None
    assert latency_over(free, Constraints(max_est_latency_ms=1.3 * ms), board) == "uncalibrated"


def test_the_printed_answer_is_the_reports_first_table(small):
    text = report.render(small)
    first = text.index("## The answer: which variant to ship to which board")
    assert text.index(report.answer_table(small)) > first
    assert first < text.index("## Architecture")


def test_an_arch_that_ships_nowhere_is_one_line_not_a_row_per_board(small):
    res = copy.deepcopy(small)
    for row in res.rows:
        row.detection.baseline_best_point_f1 = 0.99  # nothing beats this baseline
    text = report.answer_text(res)
    basis, line = text.split("\n\n")  # no table: nothing ships anywhere
    assert basis == report.basis_line(res)
    starts(line, "`seed`: nothing to ship. Its best-scoring variant, `seed/")
    said(line, "does not beat the baseline")
    assert report.answer_table(res) == ""
    shipped = report.answer_text(small)  # seed ships: no line for it
    assert shipped == report.basis_line(small) + "\n\n" + report.answer_table(small)


def test_pareto_front():
    rows = [
        Row.of({"arch": "a", "variant": v, "size_bytes": s, "latency_us_p50": t, "point_f1": f})
        for v, s, t, f in [
            ("a", 10, 1.0, 0.80),
            ("b", 5, 1.0, 0.80),  # b beats a
            ("c", 20, 0.5, 0.90),
            ("d", 20, 0.5, 0.90),  # ties stay
            ("e", 30, 2.0, 0.70),
        ]
    ]
    assert [r.variant for r in pareto(rows)] == ["b", "c", "d"]


def test_a_rejection_says_why():
    given = {
        "arch": "a",
        "variant": "x",
        "point_f1": 0.5,
        "point_f1_delta_vs_float32": -0.1,
        "tflm_deployable": True,
        "size_bytes": 100,
        "far": 0.2,
        "baseline_best": "always_alarm",
        "baseline_best_point_f1": 0.4,
    }
    row = Row.of(given)
    assert Constraints().rejects(row) == "point F1 loss 0.100 > 0.02"
    assert Constraints(max_f1_loss=None, max_far=0.1).rejects(row) == "FAR 0.200 > 0.1"
    beaten = Row.of({**given, "baseline_best_point_f1": 0.6})
    assert Constraints(max_f1_loss=None).rejects(beaten) == (
        "point F1 0.500 does not beat the baseline always alarm (0.600)"
    )
    assert Constraints(max_f1_loss=None, beat_baselines=False).rejects(beaten) is None
    assert Constraints(max_f1_loss=None, max_size_bytes=50).rejects(row) == "size 100 > 50"
    assert Constraints(max_f1_loss=None).rejects(row) is None


def test_verdicts_rest_on_the_paired_intervals():
    given = {
        "arch": "a",
        "variant": "x",
        "point_f1": 0.5,
        "point_f1_delta_vs_float32": -0.1,
        "point_f1_delta_vs_float32_low": -0.2,
        "point_f1_delta_vs_float32_high": 0.01,
        "tflm_deployable": True,
        "size_bytes": 100,
        "far": 0.05,
        "baseline_best": "rolling_zscore",
        "baseline_best_point_f1": 0.45,
        "baseline_best_far": 0.04,
        "point_f1_delta_vs_baseline_low": -0.03,
        "point_f1_delta_vs_baseline_high": 0.12,
        "baseline_informative": "rolling_zscore",
        "baseline_informative_point_f1": 0.45,
        "baseline_informative_far": 0.04,
        "point_f1_delta_vs_informative_low": 0.01,
        "point_f1_delta_vs_informative_high": 0.12,
    }
    row = Row.of(given)
    # above the baseline's point F1, but the paired interval holds 0
    assert Constraints().rejects(row) == (
        "point F1 0.500 beats the baseline rolling zscore (0.450) only within noise "
        "(paired 95 % interval -0.030 to +0.120)"
    )
    beyond = Row.of({**given, "point_f1_delta_vs_baseline_low": 0.01})
    assert Constraints().rejects(beyond) == (
        "50.0 false alarms per 1,000 normal points, more than the informative baseline "
        "rolling zscore's 40.0"
    )
    fewer = Row.of({**given, "point_f1_delta_vs_baseline_low": 0.01, "far": 0.04})
    # a loss of 0.1 whose paired interval reaches +0.01: within noise, so not out
    assert Constraints().rejects(fewer) is None
    lost = Row.of({**fewer.to_dict(), "point_f1_delta_vs_float32_high": -0.05})
    assert Constraints().rejects(lost) == "point F1 loss 0.050 > 0.02 beyond noise"
    assert [within_noise(r, Constraints()) for r in (fewer, lost)] == [True, False]
    assert Constraints(baseline_far=False).rejects(beyond) is None
    assert Constraints(beat_baselines=False).rejects(row) == Constraints().rejects(beyond)


def test_rerendering_keeps_a_report_whole(small, tmp_path):
    report.write(small, tmp_path)
    before = {p.name: p.read_bytes() for p in (tmp_path / "plots").iterdir()}
    report.write(small, tmp_path)
    after = {p.name: p.read_bytes() for p in (tmp_path / "plots").iterdir()}
    assert before == after  # same results, same bytes: no stray temp files either
    shutil.rmtree(tmp_path / "plots")


def test_figures_without_timings_come_from_the_cache_and_the_timed_one_is_redrawn(small, tmp_path):
    from bench.cache import Cache, sealed, unsealed

    cache = Cache(tmp_path / "cache")
    report.write(small, tmp_path / "a", cache=cache)
    drawn = {p.name: p.read_bytes() for p in (tmp_path / "a" / "plots").iterdir()}
    entries = tmp_path / "cache" / "sealed"
    assert len(list(entries.glob("figure-*/figure.png"))) == 4  # all but latency
    for row in small.rows:  # a warm run's case: new timings, rows from the cache
        row.litert.latency_samples_us = [2 * t for t in row.litert.latency_samples_us]
        row.litert.latency_us_p50 *= 2
        row.id.cached = not row.id.cached
    for png in entries.glob("figure-*/figure.png"):
        png.write_bytes(sealed((unsealed(png.read_bytes()) or b"") + b"cached"))  # a copy shows
    report.write(small, tmp_path / "b", cache=cache)
    again = {p.name: p.read_bytes() for p in (tmp_path / "b" / "plots").iterdir()}
    assert again.keys() == drawn.keys()
    for name in drawn:
        if name == "seed-latency.png":
            assert again[name] != drawn[name]
            assert not again[name].endswith(b"cached")
        else:
            assert again[name] == drawn[name] + b"cached"
    small.rows[0].size.size_bytes += 1  # what the figures show changed: drawn anew
    report.write(small, tmp_path / "c", cache=cache)
    assert not (tmp_path / "c" / "plots" / "seed-memory.png").read_bytes().endswith(b"cached")


def test_the_python_api_reads_typed_records(small):
    from bench import api

    path = GOLDEN / "results-small.json"
    res = api.load(path)
    row = res.rows[0]
    assert isinstance(row.size, api.Size)
    assert row.size.size_bytes == 2148  # seed float32 in the golden file
    assert row.detection.point_f1 == pytest.approx(0.78107, abs=1e-5)
    assert api.answer(res) == report.answer_text(res)


def _drawn_figure(monkeypatch, draw, *args):
    """The figure `draw` saves, drawn, for its artists to be measured."""
    from bench import plots

    kept = {}

    def keep(fig, path):
        fig.canvas.draw()
        kept["fig"] = fig
        return path

    monkeypatch.setattr(plots, "_save", keep)
    draw(*args)
    return kept["fig"]


def test_size_vs_f1_labels_do_not_overlap_one_another_or_the_legend(small, tmp_path, monkeypatch):
    from dataclasses import replace

    from bench import plots

    # a dozen variants a few bytes apart at one F1, as int8 children often are
    base = small.rows[2]
    rows = [
        replace(
            base,
            id=replace(base.id, variant=f"clustered{k}_int8_per_tensor"),
            size=replace(base.size, size_bytes=2_300 + 9 * k),
        )
        for k in range(12)
    ]
    fig = _drawn_figure(monkeypatch, plots.size_vs_f1, rows, "seed", tmp_path / "a.png")
    ax = fig.axes[0]
    boxes = [t.get_window_extent() for t in ax.texts]
    assert len(boxes) == 12
    assert [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.overlaps(b)] == []
    legend = ax.get_legend().get_window_extent()
    assert [box for box in boxes if box.overlaps(legend)] == []
    ticks = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    assert [(a, b) for i, a in enumerate(ticks) for b in ticks[i + 1 :] if a.overlaps(b)] == []


def test_the_size_front_holds_only_variants_tflm_runs(small):
    from dataclasses import replace

    from bench import plots

    rows = small.rows
    float16 = next(r for r in rows if r.variant == "float16")
    assert not float16.tflm.tflm_deployable
    tempting = replace(float16, size=replace(float16.size, size_bytes=100))  # smallest of all
    front = plots.size_front([*rows, tempting])
    assert tempting not in front
    assert {r.variant for r in front} == {"float32"}


def test_the_energy_legend_names_each_board_once_and_hollow_means_uncalibrated(
    small, tmp_path, monkeypatch
):
    from bench import plots

    rows = [r for r in small.rows if r.tflm.tflm_deployable]
    boards = small.boards
    fig = _drawn_figure(monkeypatch, plots.energy, small.rows, "seed", boards, tmp_path / "e.png")
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert names == [boards[b].name for b in rows[0].boards.boards]  # as the answer says

    def filled(collection) -> bool:
        faces = collection.get_facecolors()
        return bool(len(faces)) and faces[0][3] > 0

    points = [(len(c.get_offsets()), filled(c)) for c in ax.collections]
    estimates = [e for r in rows for e in (r.boards.boards or {}).values()]
    assert sum(n for n, _ in points) == len(estimates)
    assert sum(n for n, full in points if full) == sum(e.calibrated for e in estimates)
    assert [name for name in names if "uncalibrated" in name] == []


def test_the_noise_table_shows_each_interval_and_verdict():
    given = {
        "arch": "a",
        "variant": "int8",
        "point_f1": 0.5,
        "point_f1_boot_low": 0.4,
        "point_f1_boot_high": 0.6,
        "far": 0.02,
        "far_boot_low": 0.01,
        "far_boot_high": 0.03,
        "baseline_best": "rolling_zscore",
        "baseline_best_point_f1": 0.45,
        "point_f1_delta_vs_baseline_low": -0.03,
        "point_f1_delta_vs_baseline_high": 0.12,
        "vs_baseline": "within noise",
        "bootstrap": "1,000 draws of 12 blocks of 48 points",
        "window_score": "last",
        "score_choice": "last: best validation PR-AUC of float32 (mean 0.100, last 0.277)",
        "point_f1_delta_vs_float32": 0.1,
        "point_f1_delta_vs_float32_low": -0.2,
        "point_f1_delta_vs_float32_high": 0.3,
        "point_f1_matched_delta_vs_float32": 0.01,
        "point_f1_matched_delta_vs_float32_low": -0.04,
        "point_f1_matched_delta_vs_float32_high": 0.06,
        "score_rank_correlation": 0.92,
        "decision_agreement": 0.998,
    }
    text = "\n".join(report.noise_table([Row.of(given)]))
    said(
        text,
        "1,000 draws of 12 blocks of 48 points",
        "Score: last: best validation PR-AUC of float32 (mean 0.100, last 0.277).",
    )
    line = next(x for x in text.splitlines() if x.startswith("| int8"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:8] == [
        "int8",
        "last",
        "0.500 [0.400, 0.600]",
        "0.020 [0.010, 0.030]",
        "n/a",
        "n/a",
        "+0.050 [-0.030, +0.120] within noise",
        "+0.100 [-0.200, +0.300]",
    ]
    # its threshold's F1 gain (+0.100) is mostly where it fell: at float32's alarm count
    assert cells[8:11] == ["+0.010 [-0.040, +0.060]", "0.920", "0.998"]
    assert report.noise_table([Row.of({"arch": "a", "variant": "v"})]) == []


def _scored(**given):
    base = {
        "arch": "a", "variant": "x", "tflm_deployable": True, "size_bytes": 100,
        "point_f1": 0.78, "far": 0.30, "baseline_best": "always_alarm",
        "baseline_best_point_f1": 0.70, "baseline_best_far": 1.0,
        "point_f1_delta_vs_baseline_low": 0.02, "point_f1_delta_vs_baseline_high": 0.12,
    }  # fmt: skip
    return Row.of(base | given)


def test_always_alarm_never_licenses_a_false_alarm_rate():
    """SKAB's case: F1 0.756 over always alarm's 0.705 at FAR 0.532 shipped; a weak
    detector cannot pass now, however it beats the constant floor."""
    assert Constraints().rejects(_scored(far=0.532)) == (
        "532.0 false alarms per 1,000 normal points: on half of them or more an alarm says "
        "no more than a coin"
    )
    quiet = {"baseline_informative": "rolling_zscore", "baseline_informative_far": 0.011}
    quiet |= {"baseline_informative_point_f1": 0.036}
    quiet |= {"point_f1_delta_vs_informative_low": 0.7, "point_f1_delta_vs_informative_high": 0.8}
    assert Constraints().rejects(_scored(**quiet)) == (
        "300.0 false alarms per 1,000 normal points, more than the informative baseline "
        "rolling zscore's 11.0"
    )
    assert Constraints().rejects(_scored(**quiet, far=0.01)) is None
    # without an informative baseline, only the coin bound licenses: under it, it ships
    assert Constraints().rejects(_scored()) is None
    assert Constraints(baseline_far=False).rejects(_scored(far=0.532)) is None  # asked for


def test_on_nab_a_variant_must_beat_the_null_detector():
    below = _scored(dataset="nab", far=0.02, nab_score_standard=-170.0)
    assert Constraints().rejects(below) == (
        "NAB standard score -170.0 is not above the null detector's 0"
    )
    assert Constraints().rejects(_scored(dataset="nab", far=0.02, nab_score_standard=5.0)) is None
    assert Constraints().rejects(_scored(far=0.02, nab_score_standard=-170.0)) is None  # not NAB


def test_a_degenerate_baseline_is_neither_informative_nor_a_licence():
    from bench.baselines import degenerate, informative

    always = {"point_f1": 0.136, "far": 1.0, "alarm_rate": 1.0}
    loud = {"point_f1": 0.134, "far": 1.0, "alarm_rate": 0.999}  # the seed's z-score, cut at 0
    quiet = {"point_f1": 0.036, "far": 0.011, "alarm_rate": 0.015}  # SKAB's
    silent = {"point_f1": 0.0, "far": 0.0, "alarm_rate": 0.0}
    assert [degenerate("rolling_zscore", b) for b in (loud, quiet, silent)] == [True, False, True]
    assert not degenerate("always_alarm", always)  # the constant floor of point F1
    assert informative({"always_alarm": always, "rolling_zscore": loud}) is None
    assert informative({"always_alarm": always, "rolling_zscore": quiet}) == "rolling_zscore"


def test_what_nobody_scored_ships_only_as_the_users_own_model_with_measured_agreement():
    unscored = {"detection_skipped": "no labels", "point_f1": 0.0, "far": 0.0}
    student = _scored(**unscored, parent="float32", student=True, score_rank_correlation=0.99)
    starts(Constraints().rejects(student), "a distilled student, another architecture")
    blind = _scored(**unscored, parent="float32")
    assert Constraints().rejects(blind) == (
        "its agreement with float32 was not measured (no scores to compare)"
    )
    assert (
        Constraints().rejects(_scored(**unscored, parent="float32", score_rank_correlation=0.9))
        is None
    )
    assert Constraints().rejects(_scored(**unscored)) is None  # float32 itself
