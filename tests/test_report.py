"""The report from a committed small results file: golden markdown, real PNGs."""

import shutil
from pathlib import Path

import pytest

from bench import report, results
from bench.choose import Constraints, answer, pareto
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
        "seed-energy.png": (1100, 450),
        "seed-latency.png": (1200, 450),  # LiteRT and TFLM side by side
        "seed-memory.png": (1100, 375),  # 5 variants: 0.35 in each + 2
        "seed-scores.png": (1100, 400),
        "seed-size-vs-f1.png": (700, 450),
    }
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        shape = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert shape == sizes[png.name]
        assert f"(plots/{png.name})" in text


def test_summary_comes_first_and_names_the_refused(small, tmp_path):
    text = report.render(small)
    assert text.index("## The answer: which variant to ship") < text.index("## Architecture")
    assert (
        "- `seed/float16`: not deployable on TFLite Micro (DEQUANTIZE: float16 weights: "
        "TFLM's DEQUANTIZE takes int8/int16 only; ship float32, or a full-integer int8 variant)"
    ) in text
    assert "- `seed/float16`: tensorflow/lite/micro/kernels/dequantize" in text  # its words
    assert "## Environment" in text
    assert "## Reproduce" in text
    assert small["command"] in text


def test_constraints_change_the_answer(small):
    rows, board = small["rows"], next(iter(small["boards"]))
    shipped = answer(rows, Constraints(), board)
    assert shipped is not None
    assert shipped.tflm.tflm_deployable
    energies = [
        r.boards.boards[board].est_energy_uj
        for r in rows
        if Constraints().rejects(r) is None and r.boards.boards[board].fits
    ]
    assert shipped.boards.boards[board].est_energy_uj == min(energies)
    assert answer(rows, Constraints(min_f1=2.0), board) is None
    assert answer(rows, Constraints(max_est_latency_ms=1e-9), board) is None


def test_the_printed_answer_is_the_reports_first_table(small):
    text = report.render(small)
    first = text.index("## The answer: which variant to ship to which board")
    assert text.index(report.answer_table(small)) > first
    assert first < text.index("## Architecture")


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
        "point F1 0.500 does not beat the baseline always_alarm (0.600)"
    )
    assert Constraints(max_f1_loss=None, beat_baselines=False).rejects(beaten) is None
    assert Constraints(max_f1_loss=None, max_size_bytes=50).rejects(row) == "size 100 > 50"
    assert Constraints(max_f1_loss=None).rejects(row) is None


def test_rerendering_keeps_a_report_whole(small, tmp_path):
    report.write(small, tmp_path)
    before = {p.name: p.read_bytes() for p in (tmp_path / "plots").iterdir()}
    report.write(small, tmp_path)
    after = {p.name: p.read_bytes() for p in (tmp_path / "plots").iterdir()}
    assert before == after  # same results, same bytes: no stray temp files either
    shutil.rmtree(tmp_path / "plots")


def test_figures_without_timings_come_from_the_cache_and_the_timed_one_is_redrawn(small, tmp_path):
    from bench.cache import Cache

    cache = Cache(tmp_path / "cache")
    report.write(small, tmp_path / "a", cache=cache)
    drawn = {p.name: p.read_bytes() for p in (tmp_path / "a" / "plots").iterdir()}
    assert len(list((tmp_path / "cache").glob("figure-*/figure.png"))) == 4  # all but latency
    for row in small["rows"]:  # a warm run's case: new timings, rows from the cache
        row.litert.latency_samples_us = [2 * t for t in row.litert.latency_samples_us]
        row.litert.latency_us_p50 *= 2
        row.id.cached = not row.id.cached
    for png in (tmp_path / "cache").glob("figure-*/figure.png"):
        png.write_bytes(png.read_bytes() + b"cached")  # so that a copy shows
    report.write(small, tmp_path / "b", cache=cache)
    again = {p.name: p.read_bytes() for p in (tmp_path / "b" / "plots").iterdir()}
    assert again.keys() == drawn.keys()
    for name in drawn:
        if name == "seed-latency.png":
            assert again[name] != drawn[name]
            assert not again[name].endswith(b"cached")
        else:
            assert again[name] == drawn[name] + b"cached"
    small["rows"][0].size.size_bytes += 1  # what the figures show changed: drawn anew
    report.write(small, tmp_path / "c", cache=cache)
    assert not (tmp_path / "c" / "plots" / "seed-memory.png").read_bytes().endswith(b"cached")


def test_the_python_api_reads_typed_records(small):
    from bench import api

    path = GOLDEN / "results-small.json"
    res = api.load(path)
    row = res["rows"][0]
    assert isinstance(row.size, api.Size)
    assert row.size.size_bytes == 2148  # seed float32 in the golden file
    assert row.detection.point_f1 == pytest.approx(0.78107, abs=1e-5)
    assert api.answer(res) == report.answer_table(res)
