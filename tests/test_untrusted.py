"""Untrusted input, second pass: results files that name paths, foreign models that hang
or exhaust memory, output folders that hold the user's files.

Each test reproduces one case of the hostile-input issue (A: results files, B: foreign
models, C: what a run may delete) and checks the one-line refusal or the row verdict.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import edgebench, ends, said, starts, unsaid

from bench import (
    InvalidModel,
    InvalidResults,
    MeasurementError,
    RunFailed,
    UsageError,
    isolate,
    output,
)
from bench.results import artifact_path, read
from bench.schema import Row

GOLDEN = Path(__file__).parent / "golden" / "results-small.json"


def _results(tmp_path: Path, edit) -> Path:
    """The golden results file with `edit(res)` applied, written into `tmp_path/run/`."""
    res = json.loads(GOLDEN.read_text())
    edit(res)
    folder = tmp_path / "run"
    folder.mkdir(exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps(res))
    return path


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _one_line_exit_2(done) -> None:
    assert done.returncode == 2, done.stderr
    unsaid(done.stderr, "Traceback")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


# ---- A: names and artifacts from a results file never become paths ------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("arch", "/some/dir/pwn"),
        ("arch", "../../.."),
        ("variant", "../../../x"),
        ("arch", "seed\x00"),
        ("variant", "<script>alert(1)</script>"),
    ],
)
@pytest.mark.parametrize("command", ["report", "export"])
def test_a_name_that_is_a_path_or_markup_is_refused(tmp_path, key, value, command):
    def edit(res):
        for row in res["rows"]:
            row[key] = value

    path = _results(tmp_path, edit)
    before = _files(tmp_path)
    args = ["float32", "--results", path] if command == "export" else [path]
    done = edgebench(command, *args, "--out", tmp_path / "elsewhere", cwd=tmp_path)
    _one_line_exit_2(done)
    said(done.stderr, f"{key} ", "is not a name")
    assert _files(tmp_path) == before
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("artifact", ["/etc/passwd", "/nonexistent/model.tflite", "../m.tflite"])
def test_an_artifact_outside_the_run_folder_is_refused_without_reading_it(tmp_path, artifact):
    """The same words whether the file exists or not: no oracle on a file's hash."""

    def edit(res):
        for row in res["rows"]:
            row["artifact"] = artifact

    path = _results(tmp_path, edit)
    done = edgebench("export", "float32", "--results", path, "--out", tmp_path / "fw")
    _one_line_exit_2(done)
    ends(done.stderr.strip(), f"artifact {artifact!r} lies outside the run folder")


def test_an_artifact_linked_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "secret.tflite").write_bytes(b"x")
    (tmp_path / "run" / "m.tflite").symlink_to(tmp_path / "secret.tflite")
    with pytest.raises(InvalidResults, match="lies outside its folder"):
        artifact_path(tmp_path / "run" / "results.json", "m.tflite")
    assert artifact_path(tmp_path / "run" / "results.json", "models/a.tflite") == (
        tmp_path / "run" / "models" / "a.tflite"
    )


def test_free_text_from_a_results_file_is_escaped_in_the_report(tmp_path):
    def edit(res):
        row = res["rows"][0]
        row["errors"] = {"latency": {"stage": "latency", "kind": "X", "message": "<script>|`"}}

    path = _results(tmp_path, edit)
    done = edgebench("report", path)
    assert done.returncode == 0, done.stderr
    text = (path.parent / "REPORT.md").read_text()
    unsaid(text, "<script>")
    said(text, "&lt;script&gt;|'")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema_version": 5, "rows": [], "x": 1' + "0" * 400 + "}", "finite number in range"),
        ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    ],
)
def test_huge_numbers_and_deep_nesting_are_one_line(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(InvalidResults, match=message):
        read(path)


# ---- B: a foreign model is measured in bounded children ------------------------------------


def test_a_child_that_runs_too_long_is_killed_and_named():
    limits = isolate.Limits(timeout_s=0.5, memory_bytes=1 << 30)
    with pytest.raises(MeasurementError, match=r"^timed out after 0.5 s measuring latency$"):
        isolate.run(lambda: __import__("time").sleep(60), limits, "latency")


def test_a_child_that_allocates_past_its_limit_fails_alone():
    limits = isolate.Limits(timeout_s=30, memory_bytes=256 << 20)
    with pytest.raises(MeasurementError, match="ran out of memory"):
        isolate.run(lambda: np.ones(1 << 30), limits, "detection")
    assert isolate.run(lambda: 6 * 7, limits, "size") == 42


def _convert(function) -> bytes:
    from variants._tf import tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function()], function
    )
    return bytes(converter.convert())


@pytest.fixture(scope="module")
def input_bound_loop(tmp_path_factory) -> Path:
    """A WHILE loop whose trip count is the input times 10^9: instant on the zero input
    of the opening probe, endless on the windows that latency times."""
    from variants._tf import tf

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def loop(x):
        n = tf.cast(x[0, 0] * 1e9, tf.int32)
        _, acc = tf.while_loop(
            lambda i, acc: i < n, lambda i, acc: (i + 1, acc + x), [tf.constant(0), x * 0]
        )
        return acc

    path = tmp_path_factory.mktemp("loop") / "loop.tflite"
    path.write_bytes(_convert(loop))
    return path


def test_a_model_that_hangs_on_real_input_gets_a_row_verdict(input_bound_loop, tmp_path):
    out = tmp_path / "out"
    done = edgebench(
        "run", "--quick", "--model", input_bound_loop, "--measure-timeout", "3", "--out", out
    )
    assert done.returncode == 0, done.stderr
    row = json.loads((out / "results.json").read_text())["rows"][0]
    assert row["errors"]["latency"]["message"] == "timed out after 3 s measuring latency"
    assert row["size_bytes"] == input_bound_loop.stat().st_size


def test_a_declared_tensor_over_the_bound_is_refused_unopened(tmp_path):
    from variants._tf import tf

    @tf.function(input_signature=[tf.TensorSpec([1, 300_000], tf.float32)])
    def wide(x):
        return x * 2.0

    path = tmp_path / "wide.tflite"
    path.write_bytes(_convert(wide))
    with pytest.raises(InvalidModel, match=r"declares 1,200,000 bytes, over the limit of 100,000"):
        isolate.check_tensors(path.read_bytes(), 100_000, str(path))
    done = edgebench(
        "run", "--model", path, "--max-tensor-bytes", "100000", "--out", tmp_path / "out"
    )
    _one_line_exit_2(done)
    assert not (tmp_path / "out").exists()


# ---- C: a run owns only what it made ------------------------------------------------------


def test_an_input_inside_the_output_folder_is_refused(tiny_models, tmp_path):
    folder = tmp_path / "mine"
    (folder / "models").mkdir(parents=True)
    model = folder / "models" / "mine.tflite"
    model.write_bytes(tiny_models["int8"].model)
    (folder / "models" / "notes.txt").write_text("mine")
    (folder / "results.json").write_text('{"schema_version": 5, "rows": []}')
    before = {p: p.read_bytes() for p in _files(folder)}
    done = edgebench("run", "--model", model, "--out", folder)
    _one_line_exit_2(done)
    said(done.stderr, "lies inside --out")
    assert {p: p.read_bytes() for p in _files(folder)} == before


@pytest.mark.parametrize("out", ["/", "notes"])
def test_an_output_folder_that_is_not_a_run_is_refused(tmp_path, out):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    done = edgebench("run", "--quick", "--out", out, cwd=tmp_path)
    _one_line_exit_2(done)
    assert (tmp_path / "notes" / "notes.txt").read_text() == "mine"
    assert not Path("/results.json").exists()


@pytest.mark.parametrize("seed", ["18446744073709551616", "-1", "4294967296"])
def test_a_seed_out_of_range_is_refused_before_any_work(tmp_path, seed):
    done = edgebench("run", "--quick", "--seed", seed, "--out", tmp_path / "out")
    _one_line_exit_2(done)
    said(done.stderr, f"seed {seed} is out of range")
    assert not (tmp_path / "out").exists()


def test_diff_never_writes_over_an_input(tmp_path):
    a = tmp_path / "a.json"
    a.write_bytes(GOLDEN.read_bytes())
    done = edgebench("diff", a, GOLDEN, "--out", a)
    _one_line_exit_2(done)
    assert a.read_bytes() == GOLDEN.read_bytes()


def test_swap_in_replaces_only_its_own_files(tmp_path):
    """The earlier run's files that this run did not write go (they are in its
    manifest); a user's file in the same folders stays."""
    out, first, second = tmp_path / "out", tmp_path / "s1", tmp_path / "s2"
    for stage, names in ((first, ["results.json", "models/a.tflite", "plots/a.png"]),
                         (second, ["results.json", "models/b.tflite"])):  # fmt: skip
        for name in names:
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_text(f"{stage.name} {name}")
    output.swap_in(first, out)
    (out / "models" / "notes.txt").write_text("mine")
    (out / "plots" / "figure.png").write_text("mine")
    output.swap_in(second, out)
    found = {str(p.relative_to(out)): p.read_text() for p in _files(out)}
    assert (
        found.pop(output.MANIFEST)
        == json.dumps(["models/b.tflite", "results.json"], indent=0) + "\n"
    )
    assert found == {
        "results.json": "s2 results.json",
        "models/b.tflite": "s2 models/b.tflite",
        "models/notes.txt": "mine",
        "plots/figure.png": "mine",
    }


def test_a_run_whose_every_row_failed_keeps_the_earlier_output():
    from bench.run import refuse_if_all_failed

    why = {"build": {"stage": "build", "kind": "ValueError", "message": "bad seed"}}
    rows = [Row.of({"arch": "a", "variant": v, "errors": why}) for v in ("float32", "int8")]
    with pytest.raises(RunFailed, match=r"every row failed \(ValueError: bad seed\)"):
        refuse_if_all_failed(rows, Path("out"))
    sized = Row.of({"arch": "a", "variant": "int8_x", "size_bytes": 10})
    refuse_if_all_failed([*rows, sized], Path("out"))
    skipped = Row.of({"arch": "a", "variant": "qat", "recipe_skipped": "no"})
    refuse_if_all_failed([skipped], Path("out"))


# ---- 7: a run stopped by SIGTERM or SIGKILL leaves no process and no staging behind -----


def _tagged(tag: str) -> list:
    """Every live process whose environment carries `tag`: a run's processes, however
    they were started and whoever their parent is now."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("EDGEBENCH_TEST_TAG") == tag and proc.status() != "zombie":
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.mark.slow
@pytest.mark.parametrize(("signal_name", "code"), [("SIGTERM", 143), ("SIGKILL", -9)])
def test_a_killed_run_leaves_nothing_behind(tmp_path, signal_name, code):
    import signal
    import subprocess
    import sys
    import time

    import psutil

    out, tag = tmp_path / "out", f"{os.getpid()}-{signal_name}"
    env = {**os.environ, "EDGEBENCH_CACHE": str(tmp_path / "cache"), "EDGEBENCH_TEST_TAG": tag}
    argv = ["run", "--quick", "--arch", "seed", "--variants", "float32,qat", "--out", str(out)]
    log = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", *argv], env=env, stdout=subprocess.DEVNULL, stderr=log
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        children = psutil.Process(proc.pid).children(recursive=True)
        if len(children) >= 4:  # watchdog, resource tracker, fork server, a worker: training
            break
        time.sleep(0.2)
    assert proc.poll() is None
    proc.send_signal(getattr(signal, signal_name))
    assert proc.wait(timeout=60) == code, (tmp_path / "stderr.txt").read_text()
    deadline = time.monotonic() + 10
    while _tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [(p.pid, p.name(), p.cmdline()[:3]) for p in _tagged(tag)] == []
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []
    assert not (out / "results.json").exists()
    if code == 143:  # one line, no warning of the resource tracker after it
        lines = (tmp_path / "stderr.txt").read_text().strip().splitlines()
        assert lines[-1:] == ["edgebench: terminated; files already written are complete"]


# ---- 1: dates ----------------------------------------------------------------------------


def _csv(tmp_path: Path, stamps: list[str], name: str = "d.csv") -> Path:
    rows = [f"{s},{np.sin(i / 4):.3f},{int(i % 40 == 0)}" for i, s in enumerate(stamps)]
    path = tmp_path / name
    path.write_text("timestamp,value,label\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "zone",
    [
        lambda i: "+00:00" if i % 2 else "+05:00",  # mixed offsets
        lambda i: "+01:00" if i % 3 == 0 else "",  # aware beside naive
        lambda i: "+09:00",  # all in one zone
    ],
)
def test_dates_in_any_zone_are_read_as_utc(tmp_path, zone):
    from bench.data.loaders import CsvColumns, load_csv

    base = np.datetime64("2024-01-01T00:00")
    stamps = [
        f"{base + np.timedelta64(10 * i, 'h')}".replace("T", " ") + zone(i) for i in range(300)
    ]
    found = load_csv(_csv(tmp_path, stamps), CsvColumns())
    assert len(found.series[0].values) == 300


def _nab(tmp_path: Path, labels: bytes) -> Path:
    root = tmp_path / "nab"
    (root / "data" / "k").mkdir(parents=True)
    (root / "labels").mkdir()
    stamps = [f"2024-01-{1 + i // 24:02d} {i % 24:02d}:00:00" for i in range(400)]
    (root / "data" / "k" / "a.csv").write_text(
        "timestamp,value\n" + "\n".join(f"{s},{i % 7}" for i, s in enumerate(stamps)) + "\n"
    )
    (root / "labels" / "combined_windows.json").write_bytes(labels)
    return root


def test_nab_windows_with_a_zone_are_read_as_utc(tmp_path):
    from bench.data.loaders import load_nab

    window = ["2024-01-10 00:00:00+00:00", "2024-01-10 05:00:00+00:00"]
    found = load_nab(_nab(tmp_path, json.dumps({"k/a.csv": [window]}).encode()))
    assert int(found.series[0].labels.sum()) == 6


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (b'{"k/a.csv": []}\xff\xfe', "not UTF-8 text"),
        (b'{"k/a\\u0000.csv": [], "k/a.csv": []}', None),  # a NUL in a name: ignored
    ],
)
def test_nab_labels_that_are_not_text_or_hold_nul_are_one_line(tmp_path, labels, message):
    from bench.data.loaders import load_nab

    root = _nab(tmp_path, labels)
    if message is None:
        found = load_nab(root)
        said(found.warnings[0], "outside data/")
        return
    with pytest.raises(UsageError, match=message):
        load_nab(root)


# ---- 2, 4, 6, 8, 9, 10: results, numbers, endless inputs, the gate, bounds ---------------


def test_a_trace_of_the_wrong_shape_is_refused(tmp_path):
    path = _results(tmp_path, lambda res: res["traces"].update(seed={"end": [1], "names": []}))
    with pytest.raises(InvalidResults, match="'y' is a required property"):
        read(path)
    path = _results(
        tmp_path,
        lambda res: res["traces"].update(
            seed={"end": [1, 2], "y": [0], "series": [0], "names": []}
        ),
    )
    with pytest.raises(InvalidResults, match="the trace of 'seed' has parts that do not agree"):
        read(path)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("arena_bytes", -16, "-16 is less than the minimum of 1"),
        ("point_f1", 7.5, "7.5 is greater than the maximum of 1"),
        ("far", -2, "-2 is less than the minimum of 0"),
    ],
)
def test_impossible_figures_in_a_results_file_are_refused(tmp_path, key, value, message):
    path = _results(tmp_path, lambda res: res["rows"][2].update({key: value}))
    with pytest.raises(InvalidResults, match=message):
        read(path)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--quick", "--rate", "nan"],
        ["run", "--quick", "--rate", "inf"],
        ["run", "--quick", "--max-f1-loss", "nan"],
        ["run", "--quick", "--min-f1", "inf"],
        ["run", "--quick", "--max-latency-us", "nan"],
        ["run", "--quick", "--window", "0"],
        ["run", "--quick", "--workers", "1000"],
        ["run", "--quick", "--measure-timeout", "nan"],
        ["export", "--model", GOLDEN, "--arena-margin", "nan"],
        ["export", "--model", GOLDEN, "--arena-margin", "inf"],
        ["export", "--model", GOLDEN, "--arena-margin", "1e300"],
    ],
)
def test_numbers_on_the_command_line_are_checked_before_any_work(tmp_path, args):
    done = edgebench(*args, "--out", tmp_path / "out")
    _one_line_exit_2(done)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["report", "gate", "diff", "csv"])
def test_devices_fifos_and_folders_are_not_read(tmp_path, command):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    given = {"report": "/dev/zero", "gate": fifo, "diff": tmp_path, "csv": "/dev/zero"}[command]
    if command == "csv":
        args = ["run", "--quick", "--dataset", f"csv:{given}", "--out", tmp_path / "o"]
    elif command == "diff":
        args = ["diff", given, GOLDEN]
    else:
        args = [command, given]
    done = edgebench(*args, timeout=60)
    _one_line_exit_2(done)
    assert "regular file" in done.stderr or "a folder" in done.stderr


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEBENCH_MAX_INPUT_BYTES", "1000000")
    padded = tmp_path / "padded.tflite"
    padded.write_bytes(b"\0" * 2_000_000)
    done = edgebench("export", "--model", padded, "--out", tmp_path / "fw")
    _one_line_exit_2(done)
    said(done.stderr, "2,000,000 bytes, over the limit of 1,000,000")


def test_a_keras_file_that_inflates_past_the_limit_is_refused(tmp_path, monkeypatch):
    import zipfile

    monkeypatch.setenv("EDGEBENCH_MAX_INPUT_BYTES", "1000000")
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * 5_000_000)
    assert bomb.stat().st_size < 100_000
    done = edgebench("run", "--model", bomb, "--out", tmp_path / "out")
    _one_line_exit_2(done)
    said(done.stderr, "unpacks to 5,000")


@pytest.mark.parametrize(
    ("budgets", "message"),
    [
        ('[budgets."*"]\nmax_size_bytes = -1\n', "must be a finite number >= 0"),
        ('[budgets."*"]\nmin_point_f1 = 5\n', "must be a finite number >= 0 and <= 1"),
        ('[budgets."*/int9"]\nmax_size_bytes = 9\n', "matches no row"),
        ('[budgets."a/b/c"]\nmax_size_bytes = 9\n', 'is not "ARCH/VARIANT"'),
        ('[budgets."*"]\nmax_est_latency_ms = { board = "nope", ms = 1 }\n', "no board 'nope'"),
    ],
)
def test_the_gate_calls_bad_budgets_bad_input(tmp_path, budgets, message):
    path = tmp_path / "budgets.toml"
    path.write_text(budgets)
    done = edgebench("gate", GOLDEN, "--budgets", path)
    _one_line_exit_2(done)
    assert message in done.stderr


def test_the_gate_refuses_results_without_rows(tmp_path):
    path = _results(tmp_path, lambda res: res.update(rows=[]))
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[budgets."*"]\nmax_size_bytes = 9\n')
    done = edgebench("gate", path, "--budgets", budgets)
    _one_line_exit_2(done)
    said(done.stderr, "no rows")


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    from bench.cache import write_atomic

    def full(self, data):
        Path.write_text(self, "partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(tmp_path / "model.tflite", b"x" * 100)
    assert list(tmp_path.iterdir()) == []


def test_a_results_file_of_too_many_rows_is_refused(tmp_path):
    def edit(res):
        res["rows"] = [{**res["rows"][0], "variant": f"v{i}"} for i in range(5_001)]

    with pytest.raises(InvalidResults, match="5,001 rows, more than the 5,000"):
        read(_results(tmp_path, edit))


def test_a_zero_point_outside_its_type_is_not_exported(tiny_models):
    """An int8 model whose input zero point was set to 2^40 in the flatbuffer."""
    from ai_edge_litert import schema_py_generated as fb

    from bench import UsageError, export

    data = bytearray(tiny_models["int8"].model)
    graph = fb.Model.GetRootAs(data, 0).Subgraphs(0)
    zeros = graph.Tensors(int(graph.Inputs(0))).Quantization().ZeroPointAsNumpy()
    zeros[0] = 2**40  # a writable view into `data`
    fw = export.Firmware("seed-int8", bytes(data), 1872, 0.25)
    with pytest.raises(UsageError, match=r"input zero point 1099511627776 is outside int8"):
        export.header(fw)


def test_the_readmes_budgets_example_loads(tmp_path):
    """The documented budgets said `min_f1`, which the gate refuses: the key is min_point_f1."""
    import re

    from bench import gate

    readme = (Path(__file__).parent.parent / "docs" / "gates.md").read_text()
    (block,) = re.findall(r"```toml\n(\[tolerances\].*?)```", readme, re.S)
    path = tmp_path / "budgets.toml"
    path.write_text(block)
    tols, budgets = gate.load_gates(path)
    assert tols.f1_tolerance == 0.005
    assert budgets["seed/int8"]["min_point_f1"] == 0.3
    sample = Path(__file__).parent.parent / "reports" / "sample" / "results.json"
    done = edgebench("gate", sample, "--budgets", path)  # the default run, as written
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "6 checks, 0 failed, 0 not comparable"


# ---- what a new user trips over (#28): columns, separators, housekeeping -----------------


def _labelled_csv(tmp_path: Path, sep: str = ",", name: str = "d.csv") -> Path:
    rows = [f"2024-01-01 00:{i // 60:02d}:{i % 60:02d}{sep}{np.sin(i / 5):.3f}{sep}"
            f"{int(i % 50 == 0)}" for i in range(600)]  # fmt: skip
    path = tmp_path / name
    path.write_text(f"timestamp{sep}value{sep}label\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("option", "given", "message"),
    [
        ("--label-column", "anomaly", "unknown label column 'anomaly'"),
        ("--label-column", "labels", "unknown label column 'labels'; did you mean 'label'?"),
        ("--time-column", "timestmp", "did you mean 'timestamp'?"),
        ("--value-columns", "valeu", "unknown value column 'valeu'; did you mean 'value'?"),
    ],
)
def test_a_misspelt_column_is_refused_with_a_suggestion(tmp_path, option, given, message):
    """`--label-column anomaly` on a file labelled in `label` used to train on the labels."""
    path = _labelled_csv(tmp_path)
    done = edgebench(
        "run", "--quick", "--dataset", f"csv:{path}", option, given, "--out", tmp_path / "o"
    )
    _one_line_exit_2(done)
    assert message in done.stderr


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_the_separator_is_sniffed(tmp_path, sep):
    from bench.data.loaders import CsvColumns, load_csv

    found = load_csv(_labelled_csv(tmp_path, sep), CsvColumns())
    assert found.channels == ("value",)
    assert int(found.series[0].labels.sum()) == 12


def test_a_validation_part_without_normal_points_says_so(tmp_path):
    path = _labelled_csv(tmp_path)
    lines = path.read_text().splitlines()
    for i in range(361, 481):  # rows 60-80 %: the validation part, all anomalous
        lines[i] = lines[i].rsplit(",", 1)[0] + ",1"
    path.write_text("\n".join(lines) + "\n")
    done = edgebench("run", "--quick", "--dataset", f"csv:{path}", "--arch", "seed",
                     "--out", tmp_path / "o")  # fmt: skip
    _one_line_exit_2(done)
    said(done.stderr, "validation points is labelled anomalous")


def test_clean_keeps_the_newest_runs_the_latest_and_foreign_folders(tmp_path):
    runs = tmp_path / "runs"
    for name in ("20260101-000000", "20260102-000000", "20260103-000000", "20260104-000000"):
        (runs / name).mkdir(parents=True)
        (runs / name / "results.json").write_text('{"schema_version": 5, "rows": []}')
    (runs / "mine").mkdir()
    latest = tmp_path / "latest"
    latest.symlink_to(runs / "20260101-000000")
    gone = output.clean(runs, 1, latest)
    assert [p.name for p in gone] == ["20260103-000000", "20260102-000000"]
    assert sorted(p.name for p in runs.iterdir()) == ["20260101-000000", "20260104-000000", "mine"]
    with pytest.raises(UsageError, match="--keep -1"):
        output.clean(runs, -1, latest)


def _diff_rows(**now: object) -> tuple[dict, dict]:
    """Two results of one row measured alike; `now` changes B's figures."""
    from helpers import typed

    rng = np.random.default_rng(0)
    samples = list(np.exp(rng.normal(np.log(3.0), 0.05, 400)))
    row = {
        "dataset": "nepse",
        "arch": "deep",
        "variant": "int8",
        "tflm_deployable": True,
        "size_bytes": 86_864,
        "latency_us_p50": float(np.median(samples)),
        "latency_samples_us": samples,
        "conditions": {"machine": "m"},
    }
    factor = float(now.pop("slower", 1.0))  # type: ignore[arg-type]
    later = {**row, **now, "latency_samples_us": [s * factor for s in samples]}
    later["latency_us_p50"] = float(np.median(later["latency_samples_us"]))
    return typed({"rows": [row]}), typed({"rows": [later]})


def test_diff_says_a_summary_first_and_calls_out_a_deployability_flip():
    from bench import diff

    a, b = _diff_rows(tflm_deployable=False, size_bytes=18_180.0)
    text = diff.render(diff.compare(a, b))
    first, *_ = text.splitlines()
    assert first == "1 variant(s), 8 comparisons: 1 worse, 1 better; 1 deployability flip(s)"
    said(
        text,
        "| worse (no longer deployable on TFLM) ",
        "| size_bytes      | 86,864 | 18,180 | -79.1%   | better ",
    )


@pytest.mark.parametrize(("slower", "verdict"), [(1.03, "same"), (1.5, "worse"), (0.6, "better")])
def test_diff_calls_a_timing_change_only_beyond_the_gates_noise(slower, verdict):
    from bench import diff

    a, b = _diff_rows(slower=slower)
    (found,) = [c for c in diff.compare(a, b) if c.metric == "latency_us_p50"]
    assert found.sense == verdict
    starts(found.note, "within noise" if verdict == "same" else "x")
