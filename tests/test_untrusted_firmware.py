"""Untrusted input on the firmware path: text from a results file never becomes C, a TFLM
tree's names never become make commands, a damaged firmware cache never becomes a figure,
and a firmware stage that cannot compile is each row's one line, never a traceback.

Each test reproduces one case of the issue and checks what a user gets instead."""

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import FIGURES, edgebench, said, starts, unsaid

from bench import MeasurementError
from bench.cache import Cache, sealed
from bench.firmware import build, stage, toolchain
from bench.schema import CoreFirmware
from variants import REGISTRY

GOLDEN = Path(__file__).parent / "golden" / "results-small.json"
TREE = Path(__file__).resolve().parents[2] / "shared" / "tflm"
M4 = "cortex-m4+fp"
PWN = '*/ __attribute__((constructor)) static void eb_pwn(void){ puts("INJECTED CODE RAN"); } /*'
NEEDS_TREE = pytest.mark.skipif(not TREE.is_dir(), reason="no ../shared/tflm")


def _one_line_exit_2(done) -> None:
    assert done.returncode == 2, done.stderr
    unsaid(done.stderr, "Traceback")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _results(tmp_path: Path, model: bytes, edit=lambda res, row: None) -> Path:
    """The golden file cut to its seed/int8 row, measuring `model`, with a run's scaling;
    `edit(res, row)` applied."""
    res = json.loads(GOLDEN.read_text())
    row = next(r for r in res["rows"] if r["variant"] == "int8")
    row["sha256"] = hashlib.sha256(model).hexdigest()
    res["rows"] = [row]
    res["scaling"] = {
        "seed": [
            {"series": "nepse", "kind": "minmax", "log": True, "shift": [9.4], "scale": [2.8]}
            | {"input_low": [0.0], "input_high": [1.0]}
        ]
    }
    edit(res, row)
    folder = tmp_path / "run"
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / row["artifact"]).write_bytes(model)
    (folder / "results.json").write_text(json.dumps(res))
    return folder / "results.json"


def _build_example(folder: Path) -> str:
    """The exported example as a user copies it, compiled for the host (model data as
    C99, main.cc as C++17, without TFLM) and run: what it printed."""
    subprocess.run(
        ["gcc", "-std=c99", "-Wall", "-Werror", "-c", "model_data.c", "-o", "model_data.o"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["g++", "-std=c++17", "-Wall", "main.cc", "model_data.o", "-o", "example"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    return subprocess.run([folder / "example"], check=True, capture_output=True, text=True).stdout


# ---- A: text from a results file never becomes C --------------------------------------------


def _set_scaling(key: str, value):
    return lambda res, row: res["scaling"]["seed"][0].__setitem__(key, value)


@pytest.mark.parametrize(
    ("edit", "exported"),
    [
        (_set_scaling("kind", PWN), False),  # the schema knows the two scalings
        (_set_scaling("series", PWN), True),  # free text: written, but as a comment's text
        (_set_scaling("series", "a\\"), True),  # a trailing backslash continues a // line
        (lambda res, row: row.__setitem__("window_score", "max:3 " + PWN), False),
        (lambda res, row: row.__setitem__("window_score", "max:²"), False),
        (_set_scaling("shift", ["1); puts(1"]), False),
        (lambda res, row: row.__setitem__("threshold", "0.1f; puts(1)"), False),
    ],
)
def test_text_from_a_results_file_never_becomes_code(tiny_models, tmp_path, edit, exported):
    path = _results(tmp_path, tiny_models["int8"].model, edit)
    out = tmp_path / "export"
    done = edgebench("export", "int8", "--results", path, "--out", out)
    if not exported:
        _one_line_exit_2(done)
        assert not out.exists()
        return
    assert done.returncode == 0, done.stderr
    printed = _build_example(out)
    unsaid(printed, "INJECTED")
    said(printed, "threshold")  # the example ran to its end


@pytest.mark.parametrize("variant", list(REGISTRY))
def test_the_exported_example_compiles_for_float_and_integer_models(tiny_models, tmp_path, variant):
    path = _results(tmp_path, tiny_models[variant].model)
    out = tmp_path / "export"
    done = edgebench("export", "int8", "--results", path, "--out", out)
    assert done.returncode == 0, done.stderr
    header = (out / "model_data.h").read_text()
    assert re.findall(r"(?m)^#define \w+ -?\d+f$", header) == []  # `0f` is no literal; `0.f` is
    said(_build_example(out), "threshold")
    if shutil.which("arm-none-eabi-g++"):  # and for the target, as a user builds it there
        cross = ["-mcpu=cortex-m4", "-mthumb", "-Wall", "-Werror", "-c"]
        for compiler, std, source in (("gcc", "c99", "model_data.c"), ("g++", "c++17", "main.cc")):
            subprocess.run(
                [f"arm-none-eabi-{compiler}", f"-std={std}", *cross, source, "-o", "/dev/null"],
                cwd=out, check=True, capture_output=True,
            )  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda res, row: row.__setitem__("window", 37), "not what the model reads"),
        (_set_scaling("shift", [1.0] * 37), "has parts that disagree"),
        (_set_scaling("shift", [1.0] * 10_000), "field 'scaling.seed.0.shift'"),
        (lambda res, row: row.__setitem__("window_score", "max:99999"), "reads more points"),
        (lambda res, row: row.__setitem__("arena_bytes", 0), "arena_bytes"),
        (lambda res, row: row.__setitem__("arena_bytes", 2**62), "not an arena a run measured"),
        (lambda res, row: row.__setitem__("arena_bytes", None), "arena_bytes"),
    ],
)
def test_constants_that_disagree_with_the_model_are_refused(tiny_models, tmp_path, edit, message):
    path = _results(tmp_path, tiny_models["int8"].model, edit)
    out = tmp_path / "export"
    args = ["--tflm-tree", TREE] if TREE.is_dir() else []
    done = edgebench("export", "int8", "--results", path, "--out", out, *args)
    _one_line_exit_2(done)
    assert message in done.stderr
    assert not out.exists()


@NEEDS_TREE
def test_an_export_over_another_tree_than_the_one_measured_is_refused(tiny_models, tmp_path):
    def measured_elsewhere(res, row):
        row["firmware_tool"] = "arm-none-eabi-gcc 12.2.1, TFLM tree 0123456789abcdef, unicorn 2"

    path = _results(tmp_path, tiny_models["int8"].model, measured_elsewhere)
    done = edgebench(
        "export", "int8", "--results", path, "--tflm-tree", TREE, "--out", tmp_path / "e"
    )
    _one_line_exit_2(done)
    said(done.stderr, "not the TFLM tree the run built its firmware over")


# ---- B: a tree's names never become make commands -------------------------------------------


def _tree_at(path: Path) -> Path:
    shutil.copytree(TREE, path, symlinks=True)
    return path


@NEEDS_TREE
@pytest.mark.parametrize("name", ["tree$(shell touch MADE)", "my tree", "tree:x", "tree#x"])
def test_a_tree_path_make_would_misread_is_refused(tiny_models, tmp_path, name):
    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_models["int8"].model)
    tree = _tree_at(tmp_path / name)
    done = edgebench(
        "export", "--model", model, "--tflm-tree", tree, "--out", tmp_path / "e", cwd=tmp_path
    )
    _one_line_exit_2(done)
    said(done.stderr, "a Makefile cannot take literally")
    assert not (tmp_path / "e").exists()
    assert list(tmp_path.rglob("MADE")) == []


@NEEDS_TREE
def test_a_tree_file_name_make_would_run_is_refused(tiny_models, tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_models["int8"].model)
    tree = _tree_at(tmp_path / "tree")
    (tree / "tensorflow/lite/micro/x$(shell touch MADE).cc").write_text("int x;\n")
    done = edgebench(
        "export", "--model", model, "--tflm-tree", tree, "--out", tmp_path / "e", cwd=tmp_path
    )
    _one_line_exit_2(done)
    said(done.stderr, "a TFLM tree file")
    assert list(tmp_path.rglob("MADE")) == []


@NEEDS_TREE
def test_the_exported_makefile_runs_nothing_on_a_dry_run_and_checks_its_core(tiny_models, tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_models["int8"].model)
    out = tmp_path / "e"
    done = edgebench("export", "--model", model, "--tflm-tree", TREE, "--out", out)
    assert done.returncode == 0, done.stderr
    before = {p for p in tmp_path.rglob("*")}
    dry = subprocess.run(
        ["make", "-n", f"CORE={M4}"], cwd=out / "firmware", capture_output=True, text=True
    )
    assert dry.returncode == 0, dry.stderr
    said(dry.stdout, "firmware.elf")
    assert {p for p in tmp_path.rglob("*")} == before  # a dry run made nothing
    wrong = subprocess.run(
        ["make", "-n", "CORE=cortex-m5"], cwd=out / "firmware", capture_output=True, text=True
    )
    assert wrong.returncode != 0
    said(wrong.stderr, "CORE must be one of: cortex-m0plus cortex-m4+fp")


# ---- C: a damaged firmware cache is made anew, never read as a figure -----------------------


@pytest.fixture(scope="module")
def tc() -> toolchain.Toolchain:
    found = toolchain.find(TREE if TREE.is_dir() else None)
    if isinstance(found, str):
        pytest.skip(found)
    return found


def _measure(model: bytes, tc, cache_dir: Path) -> dict:
    setup = stage.Setup(tc, cache_dir, (M4,), 1, lambda message, start=False: None)
    tasks, used = stage._tasks([(model, 4096)], setup, cache_dir)
    return stage.measured(tasks, Cache(cache_dir), used, setup)[0]


def _objects(tc, cache_dir: Path) -> build.Objects:
    return build.Objects.at(cache_dir, tc, build.CORES[M4], build.tree_digest(tc.tree))


def _entry(cache_dir: Path) -> Path:
    (found,) = (cache_dir / "sealed").glob("*/firmware.json")
    return found


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for k in (100, 200, 300, 400):
        data[len(data) // 2 + k] ^= 0x10
    path.write_bytes(bytes(data))


def _doubled(path: Path) -> None:
    text = path.read_text()
    figures = json.loads(text.split("\n", 1)[1])
    figures[M4]["instructions"] *= 2
    head = text.split("\n", 1)[0]
    path.write_text(head + "\n" + json.dumps(figures))


DAMAGE = {
    "library truncated": lambda objects, entry: (objects.root / "libtflm.a").write_bytes(b""),
    "kernel object with flipped bits": lambda objects, entry: _flip(
        objects.object("tensorflow/lite/micro/kernels/cmsis_nn/fully_connected.cc")
    ),
    "entry truncated": lambda objects, entry: entry.write_bytes(entry.read_bytes()[:40]),
    "entry not JSON": lambda objects, entry: entry.write_text("{not json"),
    "entry a list": lambda objects, entry: entry.write_text("[]"),
    "entry a sealed list": lambda objects, entry: entry.write_bytes(sealed(b"[]")),
    "entry with an extra key": lambda objects, entry: entry.write_text(
        entry.read_text().replace('"core"', '"surprise": 1, "core"')
    ),
    "entry with a doubled figure": lambda objects, entry: _doubled(entry),
}


def test_each_kind_of_damage_to_the_firmware_cache_gives_the_clean_figures(
    tiny_models, tc, tmp_path, cache_dir, capsys
):
    _libraries(tiny_models, tc, cache_dir, into=tmp_path)
    cache_dir = tmp_path  # the test's own cache from here on
    clean = _measure(tiny_models["int8"].model, tc, cache_dir)
    assert isinstance(clean[M4], CoreFirmware), clean
    objects = _objects(tc, cache_dir)
    kernel = objects.object("tensorflow/lite/micro/kernels/cmsis_nn/fully_connected.cc")
    assert kernel.is_file()
    for what, damage in DAMAGE.items():
        capsys.readouterr()
        damage(objects, _entry(cache_dir))
        if what.startswith(("library", "kernel")):
            _entry(cache_dir).unlink()  # so that the firmware is linked again
        again = _measure(tiny_models["int8"].model, tc, cache_dir)
        assert again == clean, what
        warned = [ln for ln in capsys.readouterr().err.splitlines() if "warning" in ln]
        assert len(warned) == 1, (what, warned)
        said(warned[0], "made anew")


def _libraries(tiny_models, tc, cache_dir: Path, into: Path) -> None:
    """The session's compiled M4 libraries (compiled there once, as test_firmware's are)
    copied into the cache folder `into`, which holds no measured figures yet."""
    _measure(tiny_models["int8"].model, tc, cache_dir)
    shutil.copytree(cache_dir / "firmware", into / "firmware")


@pytest.mark.parametrize(
    "failure",
    [
        MeasurementError("compiling micro_interpreter.cc failed: error: expected ';'"),
        OSError(errno.ENOSPC, "No space left on device"),
    ],
)
def test_a_library_that_cannot_be_built_is_each_rows_line_and_never_cached(
    tiny_models, tc, tmp_path, cache_dir, monkeypatch, failure
):
    _libraries(tiny_models, tc, cache_dir, into=tmp_path)
    cache_dir = tmp_path  # the test's own cache from here on

    def broken(*_):
        raise failure

    with monkeypatch.context() as patch:
        patch.setattr(build, "library", broken)
        failed = _measure(tiny_models["int8"].model, tc, cache_dir)
    assert isinstance(failed[M4], str)
    assert ("expected ';'" if isinstance(failure, MeasurementError) else "No space") in failed[M4]
    assert list((cache_dir / "sealed").glob("*/firmware.json")) == []  # not kept
    assert isinstance(_measure(tiny_models["int8"].model, tc, cache_dir)[M4], CoreFirmware)


# ---- results files: every section typed and bounded; free text shown, never run ------------


def _golden(tmp_path: Path, edit) -> Path:
    res = json.loads(GOLDEN.read_text())
    edit(res, res["rows"][2])
    path = tmp_path / "run" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(res))
    return path


def _firmware(row: dict, **change) -> None:
    row["firmware"] = {M4: FIGURES | change}


def _fit(res: dict, **change) -> None:
    fit = {"board": "b", "core": M4, "cpi": 1.5, "rows": [], "note": ""} | change
    res["calibration"]["firmware"] = {"b": fit}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda res, row: _firmware(row, flash_bytes=-5), "flash_bytes"),
        (lambda res, row: _firmware(row, instructions=0), "instructions"),
        (lambda res, row: _firmware(row, surprise=1), "surprise"),
        (lambda res, row: row.__setitem__("score_rank_correlation", 1e308), "rank_correlation"),
        (lambda res, row: row.__setitem__("nab_score_standard_swept", 1e308), "nab_score"),
        (lambda res, row: res["calibration"].__setitem__("firmware", []), "calibration.firmware"),
        (lambda res, row: res["calibration"].__setitem__("firmware", "x"), "calibration.firmware"),
        (lambda res, row: _fit(res, cpi="fast"), "calibration.firmware.b.cpi"),
        (lambda res, row: _fit(res, cpi=0), "calibration.firmware.b.cpi"),
        (lambda res, row: res["calibration"]["rows"][0].pop("loo_error_ms"), "loo_error_ms"),
        (lambda res, row: res.__setitem__("scaling", {"seed": [{"kind": "minmax"}]}), "scaling"),
    ],
)
@pytest.mark.parametrize("command", ["report", "export"])
def test_a_results_file_out_of_shape_is_refused_in_one_line(tmp_path, edit, message, command):
    path = _golden(tmp_path, edit)
    args = ["int8", "--results", path] if command == "export" else [path]
    done = edgebench(command, *args, "--out", tmp_path / "out")
    _one_line_exit_2(done)
    assert message in done.stderr
    assert not (tmp_path / "out").exists()


def test_firmware_and_calibration_text_reaches_the_report_as_text(tmp_path):
    markup = "<script>alert(1)</script>\n# injected heading"

    def edit(res, row):
        _firmware(row, core="<i>m4</i>")
        row["firmware_errors"] = {"<b>m0</b>": markup}
        row["firmware_tool"] = markup
        _fit(res, note=markup, cpi=None)

    path = _golden(tmp_path, edit)
    done = edgebench("report", path)
    assert done.returncode == 0, done.stderr
    text = (path.parent / "REPORT.md").read_text()
    assert [ln for ln in text.splitlines() if "<script>" in ln or "<b>" in ln or "<i>" in ln] == []
    assert [ln for ln in text.splitlines() if ln.startswith("# injected")] == []
    said(text, "&lt;script&gt;alert(1)&lt;/script&gt; # injected heading")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--firmware-cores", ","], "empty name"),
        (["--firmware-cores", ""], "empty name"),
        (["--firmware-opt", "O4"], "invalid choice: 'O4'"),
        (["--measure-timeout", "0"], "--measure-timeout"),
        (["--measure-timeout", "1e308"], "--measure-timeout"),
        (["--max-tensor-bytes", str(2**70)], "--max-tensor-bytes"),
        (["--seeds", ",".join(map(str, range(10_000)))], "at most 100"),
    ],
)
def test_options_out_of_range_are_refused_before_any_work(tmp_path, args, message):
    done = edgebench("run", "--quick", *args, "--out", tmp_path / "out")
    _one_line_exit_2(done)
    assert message in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_api_checks_the_build_profile_as_the_command_does(tmp_path):
    from bench import UsageError, api

    with pytest.raises(
        UsageError, match=r"unknown firmware build profile 'O4' \(choose from Os, O2, O3\)"
    ):
        api.run(quick=True, firmware_opt="O4", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("timestamp,v0,label,label\n", [], "column 'label' appears more than once"),
        ("timestamp,v0,v1,label\n", ["--value-columns", "v0,v0"], "names a column twice"),
        ("timestamp,v0,label\n", ["--sep", "\n"], "cannot separate columns"),
    ],
)
def test_a_csv_whose_columns_are_ambiguous_is_refused(tmp_path, text, args, message):
    rows = "".join(f"2024-01-01 00:{i // 60:02d}:{i % 60:02d},{i % 7},0,0\n" for i in range(300))
    csv = tmp_path / "series.csv"
    csv.write_text(text + rows)
    done = edgebench("run", "--quick", "--dataset", f"csv:{csv}", *args, "--out", tmp_path / "o")
    _one_line_exit_2(done)
    assert message in done.stderr


def test_nab_labels_nested_past_the_parser_are_one_line(tmp_path):
    (tmp_path / "labels").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "labels" / "combined_windows.json").write_text("[" * 100_000 + "]" * 100_000)
    done = edgebench("run", "--quick", "--dataset", f"nab:{tmp_path}", "--out", tmp_path / "o")
    _one_line_exit_2(done)
    said(done.stderr, "not readable JSON")


def _dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_what_a_killed_run_left_is_removed_by_the_next_and_nothing_else(tmp_path, monkeypatch):
    import tempfile

    from bench import output

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    dead = _dead_pid()
    left = [
        tmp_path / f".run.staging-{dead}",
        temp / f"edgebench-cache-{dead}-x1",
        temp / f"edgebench-fw-{dead}-x2",
    ]
    kept = [
        tmp_path / f".run.staging-{os.getppid()}",  # alive
        temp / "edgebench-cache-x3",  # an older edgebench's: whose, it does not say
        temp / f"someone-else-{dead}",
    ]
    for folder in left + kept:
        folder.mkdir()
    with output.staging(tmp_path / "run"):
        pass
    assert [p for p in left if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []


def test_a_cache_that_cannot_be_written_is_named_before_any_work(tmp_path):
    cache = tmp_path / "cache"
    cache.write_text("a file")
    done = edgebench("run", "--quick", "--cache", cache, "--out", tmp_path / "out")
    _one_line_exit_2(done)
    said(done.stderr, f"cannot write to the cache {cache}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("stamp", "args"),
    [
        ("2024-01-01 00:00:{s:02d} CET", []),
        ("10000-01-01 00:00:{s:02d}", []),
        ("2024-01-01 00:{m:02d}:{s:02d}", ["--sep", ";;"]),
    ],
)
def test_pandas_warnings_never_reach_the_terminal(tmp_path, stamp, args):
    sep = ";;" if args else ","
    lines = [sep.join(["timestamp", "v0", "label"])]
    lines += [sep.join([stamp.format(m=i // 60, s=i % 60), str(i % 7), "0"]) for i in range(400)]
    csv = tmp_path / "series.csv"
    csv.write_text("\n".join(lines) + "\n")
    done = edgebench(
        "run", "--quick", "--dataset", f"csv:{csv}", "--variants", "float32", *args,
        "--arch", "seed", "--out", tmp_path / "o", "--quiet", process=True,
    )  # fmt: skip
    unsaid(done.stderr, "Warning")
    assert done.returncode in (0, 2), done.stderr
    if done.returncode == 2:
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("command", ["report", "export"])
def test_a_deployable_row_without_its_arena_is_refused(tmp_path, command):
    path = _golden(tmp_path, lambda res, row: row.__setitem__("arena_bytes", None))
    args = ["int8", "--results", path] if command == "export" else [path]
    done = edgebench(command, *args, "--out", tmp_path / "out")
    _one_line_exit_2(done)
    said(done.stderr, "arena_bytes")


@NEEDS_TREE
def test_a_tree_of_only_the_marker_files_is_refused_before_any_work(tmp_path):
    tree = tmp_path / "tree"
    for mark in toolchain.TREE_MARKS:
        where = tree / mark
        where.parent.mkdir(parents=True, exist_ok=True)
        if (TREE / mark).is_dir():
            where.mkdir(exist_ok=True)
        else:
            where.write_text("")
    done = edgebench("run", "--quick", "--tflm-tree", tree, "--out", tmp_path / "out")
    _one_line_exit_2(done)
    said(done.stderr, "registers no operator kernel")
    assert not (tmp_path / "out").exists()


@NEEDS_TREE
def test_an_export_over_a_tree_without_the_models_kernel_is_one_line(tiny_models, tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_models["int8"].model)
    tree = _tree_at(tmp_path / "tree")
    kernels = tree / "tensorflow/lite/micro/kernels"
    for path in kernels.rglob("*.cc"):
        text = path.read_text(errors="replace")
        path.write_text(text.replace("Register_FULLY_CONNECTED()", "Register_GONE()"))
    done = edgebench("export", "--model", model, "--tflm-tree", tree, "--out", tmp_path / "e")
    _one_line_exit_2(done)
    said(done.stderr, "FULLY_CONNECTED has no kernel in this TFLM tree")


def test_nab_labels_with_more_windows_than_a_series_holds_are_one_line(tmp_path):
    (tmp_path / "labels").mkdir()
    (tmp_path / "data" / "x").mkdir(parents=True)
    rows = "".join(f"2014-01-01 {i // 60:02d}:{i % 60:02d}:00,{i % 9}\n" for i in range(900))
    (tmp_path / "data" / "x" / "s.csv").write_text("timestamp,value\n" + rows)
    windows = {"x/s.csv": [["2014-01-01 00:00:00", "2014-01-01 00:05:00"]] * 20_000}
    (tmp_path / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    done = edgebench("run", "--quick", "--dataset", f"nab:{tmp_path}", "--out", tmp_path / "o")
    _one_line_exit_2(done)
    said(done.stderr, "more than the 10,000")


def test_a_run_killed_with_its_whole_group_is_cleaned_up_by_the_next(tmp_path):
    """SIGKILL to the process group kills the watchdog too: what the run left in its
    temporary folder (TensorFlow's files, pymp-* folders, the scratch cache) and its
    staging beside --out are removed by the next run; a run that ends leaves nothing."""
    import signal
    import sys
    import tempfile
    import time

    temp, out = Path(tempfile.mkdtemp(dir="/tmp", prefix="eb-test-")), tmp_path / "out"
    env = {**os.environ, "TMPDIR": str(temp), "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [sys.executable, "-m", "bench.cli", "run", "--quick", "--arch", "seed", "--quiet"]
    args += ["--variants", "float32,qat", "--no-cache", "--out", str(out)]  # trains: seconds
    killed = subprocess.Popen(args, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.staging-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # into the training
    assert killed.poll() is None, "the run ended before it could be killed"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert list(temp.iterdir()), "the killed run left nothing to clean: the test proves nothing"
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert list(temp.iterdir()) == []
    assert list(tmp_path.glob(".out.staging-*")) == []
    temp.rmdir()


@NEEDS_TREE
def test_a_huge_source_in_the_tree_is_refused_unread(tmp_path):
    tree = _tree_at(tmp_path / "tree")
    with open(tree / "tensorflow/lite/micro/kernels/huge.cc", "wb") as f:
        f.truncate(3 << 30)  # sparse: 3 GiB that take no disk
    done = edgebench("run", "--quick", "--tflm-tree", tree, "--out", tmp_path / "out")
    _one_line_exit_2(done)
    said(done.stderr, "is no TFLM source")


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["run", "--datset", "nab:x"], "did you mean --dataset?"),
        (["rn"], "did you mean run?"),
        (["report", "--bogus-flag-x"], ""),
    ],
)
def test_a_misspelt_option_or_command_gets_a_suggestion(args, hint):
    done = edgebench(*args)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.endswith(hint) if hint else "did you mean" not in last, last


# ---- the answer says what its board figures rest on (issue: the answer means what it says) --


def test_diff_of_a_firmware_run_against_a_proxy_run_calls_no_estimate_better_or_worse():
    from bench import diff, results

    proxy = results.read(GOLDEN)
    measured = results.read(GOLDEN)
    for row in measured.rows:
        row.firmware.firmware_tool = "arm-none-eabi-gcc 12.2.1, TFLM tree 0a, unicorn 2.1.4"
        for est in (row.boards.boards or {}).values():
            est.est_latency_ms *= 3
            est.basis = "firmware on cortex-m4+fp"
    estimates = [c for c in diff.compare(proxy, measured) if c.metric.startswith("est ms")]
    assert {c.sense for c in estimates} == {"not comparable"}
    assert {c.note for c in estimates} == {
        "basis: MACs and the flatbuffer -> firmware on cortex-m4+fp, arm-none-eabi-gcc 12.2.1, "
        "TFLM tree 0a, unicorn 2.1.4"
    }
    same = [c for c in diff.compare(measured, measured) if c.metric.startswith("est ms")]
    assert {c.sense for c in same} == {"same"}


def test_the_answer_opens_with_what_its_board_figures_rest_on():
    from bench import report, results

    proxy = results.read(GOLDEN)
    for row in proxy.rows:
        row.firmware.firmware_error = "unavailable: no TFLM tree, give --tflm-tree"
    first = report.answer_text(proxy).splitlines()[0]
    starts(first, "Board figures: host proxies, no firmware was built (unavailable:")
    said(first, "`--tflm-tree` and the Arm toolchain measure the firmware")
    measured = results.read(GOLDEN)
    measured.rows[2].firmware.firmware = {M4: CoreFirmware(**FIGURES)}
    first = report.answer_text(measured).splitlines()[0]
    starts(first, f"Board figures: the firmware built at -Os and emulated for {M4} ")


def test_a_brought_models_export_compiles_as_c99(tiny_models, tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_models["float32"].model)
    out = tmp_path / "e"
    done = edgebench("export", "--model", model, "--out", out)
    assert done.returncode == 0, done.stderr
    compile_c = ["gcc", "-std=c99", "-Wall", "-Werror", "-c", "model_data.c", "-o", "/dev/null"]
    subprocess.run(compile_c, cwd=out, check=True, capture_output=True)
    starts((out / "main.cc").read_text(), "// No example")  # no window known
