"""Hostile inputs: damaged models, malformed files, interrupted runs, a damaged cache.

Every input either works or is refused with one documented error (one line, exit 2);
nothing crashes the harness, nothing written before is lost.
"""

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import edgebench, said, unsaid

from bench import InvalidModel, UsageError, export, graph, size, tflm
from bench.data.loaders import load
from bench.external import read_tflite

MUTATIONS = 300


def mutants(model: bytes, count: int, seed: int = 0):
    """Seeded damage: a few bytes overwritten, or the file cut short."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        data = bytearray(model)
        if rng.random() < 0.15:
            yield bytes(data[: int(rng.integers(8, len(data)))])
            continue
        for pos in rng.integers(0, len(data), int(rng.integers(1, 5))):
            data[pos] = int(rng.integers(0, 256))
        yield bytes(data)


def test_fuzzed_flatbuffers_give_numbers_or_one_documented_error(tiny_models, tmp_path):
    """A few hundred seeded mutations through size, graph, the LiteRT opening probe and
    (for a share) the TFLM arena search: no crash of this process, only InvalidModel."""
    model = tiny_models["int8"].model
    counts = {"inputs": 0, "measured": 0, "refused": 0, "opened": 0, "arena": 0}
    path = tmp_path / "m.tflite"
    for i, data in enumerate(mutants(model, MUTATIONS)):
        counts["inputs"] += 1
        why = _refusal(lambda data=data: (size.measure(data), graph.measure(data)))
        counts["measured" if why is None else "refused"] += 1
        unsaid(why or "", "\n")
        if i % 3 == 0:  # one forked probe each
            path.write_bytes(data)
            why = _refusal(lambda: read_tflite(path))
            counts["opened"] += why is None
            assert why is None or why.startswith(str(path))
            unsaid(why or "", "\n")
        if i % 10 == 0:  # a whole arena search each: isolated probes
            found = tflm.arena(data)
            assert found.tflm_deployable in (True, False)
            counts["arena"] += 1
    assert counts["inputs"] == MUTATIONS
    assert counts["measured"] > 0, counts
    assert counts["refused"] > 0, counts


def _refusal(work) -> str | None:
    """The words of the InvalidModel that `work()` raised, or None if it raised none."""
    try:
        work()
    except InvalidModel as err:
        return str(err)
    return None


@pytest.mark.parametrize("command", ["run", "export"])
def test_the_byte_that_crashed_litert_is_refused_in_one_line(tiny_models, tmp_path, command):
    """Byte 16 of a built seed int8 model set to 0 killed `run --model` with SIGSEGV."""
    data = bytearray(tiny_models["int8"].model)
    data[16] = 0
    path = tmp_path / "damaged.tflite"
    path.write_bytes(bytes(data))
    args = (
        ["--quick", "--out", tmp_path / "out"] if command == "run" else ["--out", tmp_path / "fw"]
    )
    done = edgebench(command, "--model", path, *args, process=True)  # may crash the process
    assert done.returncode in (0, 2), done.stderr
    unsaid(done.stderr, "Traceback")
    if done.returncode == 2:
        assert len(done.stderr.strip().splitlines()) == 1
        assert str(path) in done.stderr


def _nab(tmp_path: Path, labels, rows: int = 60) -> Path:
    root = tmp_path / "nab"
    (root / "data" / "x").mkdir(parents=True)
    (root / "labels").mkdir()
    stamps = [f"2024-01-01 {h:02d}:{m:02d}:00" for h in range(24) for m in range(0, 60, 5)]
    text = "timestamp,value\n" + "".join(f"{t},{i % 7}\n" for i, t in enumerate(stamps[:rows]))
    (root / "data" / "x" / "s.csv").write_text(text)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    return root


MALFORMED = {
    "labels that are a list": (lambda p: _nab(p, [1, 2]), "not NAB's labels"),
    "a window with an unreadable date": (
        lambda p: _nab(p, {"x/s.csv": [["2024-01-01 01:00:00", "soon"]]}),
        "has a window with an unreadable date",
    ),
    "a window with one bound": (
        lambda p: _nab(p, {"x/s.csv": [["2024-01-01 01:00:00"]]}),
        "must be a list of [start, end] timestamps",
    ),
    "a 5-row series": (lambda p: _nab(p, {"x/s.csv": []}, rows=5), "too few for NAB's protocol"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_nab_folders_are_one_clear_error(tmp_path, case):
    make, message = MALFORMED[case]
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load(f"nab:{make(tmp_path)}")


def test_a_nab_label_cannot_reach_outside_the_dataset(tmp_path):
    root = _nab(tmp_path, {"x/s.csv": [], "../../../../../../etc/passwd": []})
    data = load(f"nab:{root}")
    assert [s.name for s in data.series] == ["x/s"]
    said("\n".join(data.warnings), "outside data/")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,value\n", "a header and no data row"),
        ("timestamp,value\n2024-01-01,1\n", "1 data row(s) are too few"),
    ],
)
def test_csvs_too_short_to_split_are_one_clear_error(tmp_path, text, message):
    path = tmp_path / "short.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=re.escape(message)):
        load(f"csv:{path}")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[tolerances]\nlatency_factor = nan\n", "must be a finite number"),
        ("[tolerances]\nf1_tolerance = -1\n", "must be a finite number >= 0"),
        ("budgets = 3\n", "[budgets] must hold tables"),
        ('[budgets."*"]\nmax_size_bytes = "big"\n', "must be a finite number"),
        ("tolerances = [1]\n", "[tolerances] must be a table"),
    ],
)
def test_unusable_budgets_are_refused(tmp_path, toml, message):
    from bench import gate

    path = tmp_path / "b.toml"
    path.write_text(toml)
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        gate.load_gates(path)


def test_exported_names_cannot_inject_code_and_stay_apart(tiny_models):
    fw = export.Firmware("evil\n#define X 1\\", tiny_models["int8"].model, 1024, 0.25)
    for text in (export.header(fw), export.source(fw), export.ops_header(fw)):
        unsaid(text, "#define X")
        assert [ln for ln in text.splitlines() if ln.rstrip().endswith("\\")] == []
    first, second = export.c_identifier("модель"), export.c_identifier("模型")
    assert first != second
    assert first == export.c_identifier("модель")


def test_a_damaged_cache_entry_is_rebuilt_with_a_warning(tiny_ctx, capsys):
    from bench.build import build
    from variants import REGISTRY

    built = build(REGISTRY["float32"], tiny_ctx)
    path = tiny_ctx.cache.path(built.key, "model.tflite")
    path.write_bytes(path.read_bytes()[: len(built.model) // 2])  # truncated on disk
    capsys.readouterr()
    again = build(REGISTRY["float32"], tiny_ctx)
    assert again.cached is False
    assert again.model == built.model  # deterministic rebuild
    warned = capsys.readouterr().err.splitlines()
    assert warned == [f"edgebench: warning: cache entry {path} {SEAL_BROKEN}; made anew"]
    meta = tiny_ctx.cache.path(built.key, "meta.json")
    meta.write_text("{not json")
    third = build(REGISTRY["float32"], tiny_ctx)
    assert third.cached is False
    assert capsys.readouterr().err.splitlines() == [
        f"edgebench: warning: cache entry {meta} {SEAL_BROKEN}; made anew"
    ]


SEAL_BROKEN = "does not match its seal (damaged, or an older edgebench's)"


@pytest.mark.slow
def test_a_failed_run_leaves_the_previous_output_as_it_was(tmp_path, cache_dir, monkeypatch):
    from bench import report
    from bench.config import RunConfig
    from bench.run import run

    out = tmp_path / "out"
    cfg = RunConfig.quick_config(
        archs=("seed",), variants=("float32",), out=out, cache=cache_dir, latency_samples=20
    )
    run(cfg, log=lambda *_a, **_k: None)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*_args, **_kw):
        raise RuntimeError("the report failed")

    monkeypatch.setattr(report, "write", broken)
    with pytest.raises(RuntimeError):
        run(replace(cfg, variants=("float32", "int8")), log=lambda *_a, **_k: None)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if "staging" in p.name]


@pytest.mark.slow
def test_a_series_without_labels_runs_and_reports(tmp_path):
    rng = np.random.default_rng(0)
    rows = "".join(
        f"2024-01-01 00:{i // 60:02d}:{i % 60:02d},{v:.3f}\n"
        for i, v in enumerate(rng.normal(10, 1, 600))
    )
    path = tmp_path / "plain.csv"
    path.write_text("timestamp,value\n" + rows)
    done = edgebench(
        "run",
        "--quick",
        "--arch",
        "seed",
        "--variants",
        "float32,int8",
        "--dataset",
        f"csv:{path}",
        "--out",
        tmp_path / "out",
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out" / "REPORT.md").read_text()
    said(text, "single class")
    opening = [ln for ln in done.stdout.splitlines() if ln.startswith("Detection was not scored")]
    assert opening == [
        "Detection was not scored (the data hold no label column: their scores are measured, "
        "not their detection): the answer ranks by fit on the board, then energy, among the "
        "variants of your own model whose scores were compared with its float32's; a "
        "distilled student (another architecture) ships nowhere."
    ]
    said(done.stdout, "not scored (")  # no F1 of 0.000 against "always alarm"
