"""End to end through the `edgebench` command (its `main`, or a fresh process)."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import edgebench, said, starts, unsaid

from bench import schema
from variants import REGISTRY
from variants.baseline import ARCHS

# Keys every measured row of a registry variant holds: the schema's records that the
# pipeline fills for a model TFLM cannot run, and those it adds when TFLM can.
ALWAYS = (
    schema.Identity,
    schema.Size,
    schema.Graph,
    schema.HostLatency,
    schema.Tflm,
    schema.Detection,
    schema.Boards,
    schema.VsFloat32,
)
ROW_KEYS = {f.name for r in ALWAYS for f in dataclasses.fields(r)} - {
    "errors",
    "input_shape",
    "detection_skipped",
}
TFLM_KEYS = {f.name for r in (schema.TflmLatency, schema.Agreement) for f in dataclasses.fields(r)}
# The quick run's archs. conv's quick run is whole in .ci/run, gated row by row against the
# committed baseline; test_families converts, quantizes and runs conv models on TFLM.
QUICK_ARCHS = ("seed", "deep")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("run")
    archs = ",".join(QUICK_ARCHS)
    done = edgebench("run", "--quick", "--arch", archs, "--out", out, "--cache", cache_dir)
    assert done.returncode == 0, done.stderr
    return out, done


def test_quick_run_writes_every_variant_and_metric(quick_run):
    out, done = quick_run
    res = json.loads((out / "results.json").read_text())
    assert res["schema_version"] == schema.SCHEMA_VERSION == 6
    assert {"platform", "cpu", "cores_logical", "python", "packages", "fingerprint"} <= set(
        res["machine"]
    )
    assert res["config"]["quick"] is True
    assert set(res["stages_s"]) == {
        "data",
        "train",
        "build",
        "size",
        "graph",
        "tflm",
        "latency",
        "tflm_latency",
        "detection",
        "tflm_agreement",
        "instructions",
        "boards",
        "calibration",
        "total",
    }
    pairs = {(r["arch"], r["variant"]) for r in res["rows"]}
    assert pairs == {(a, v) for a in QUICK_ARCHS for v in REGISTRY}
    assert [r["variant"] for r in res["rows"] if r["recipe_skipped"]] == []
    for row in res["rows"]:
        assert set(row) >= ROW_KEYS, ROW_KEYS - set(row)
        assert not row["errors"]
        assert (out / row["artifact"]).stat().st_size == row["size_bytes"]
        assert len(row["latency_samples_us"]) == res["config"]["latency_samples"]
    f32 = [r for r in res["rows"] if r["variant"] == "float32"]
    assert [r["point_f1_delta_vs_float32"] for r in f32] == [0] * len(f32)
    assert set(res["baselines"]) == set(QUICK_ARCHS)
    for row in res["rows"]:
        best = max(
            res["baselines"][row["arch"]][b]["point_f1"] for b in ("always_alarm", "rolling_zscore")
        )
        assert row["baseline_best_point_f1"] == max(best, row["baseline_random_point_f1"])
    for row in res["rows"]:
        if row["variant"] in ("float32", "int8"):
            assert row["tflm_deployable"], TFLM_KEYS - set(row)
            assert set(row) >= TFLM_KEYS, TFLM_KEYS - set(row)
        if row["variant"] == "float32":  # the same float kernels: the same alarms
            assert row["tflm_decisions_differ"] == 0
        assert row["conditions"]["epochs"] == 3
        assert row["conditions"]["machine"] == res["machine"]["fingerprint"]
        if row["variant"] == "float16":
            assert not row["tflm_deployable"]
            said(row["tflm_error"], "DEQUANTIZE")
        if (row["arch"], row["variant"]) == ("deep", "dynamic_range"):
            said(row["tflm_error"], "FLOAT32 with filter type: INT8")
    said(done.stdout, "[deep] int8: measuring")
    fitted = [r for r in res["calibration"]["rows"] if "why" not in r]  # the rest: references
    assert [r for r in fitted if abs(r["error_ms"]) > 0.15] == []
    models = res["calibration"]["models"]
    assert (models["ad"]["macs_counted"], models["kws"]["macs_counted"]) == (264_192, 2_656_768)
    # per inference, zero input, TFLM's x86-64 reference kernels (exact under valgrind)
    assert (models["ad"]["tflm_instructions"], models["kws"]["tflm_instructions"]) == (
        2_250_440,
        51_019_004,
    )
    deep_f32 = next(r for r in res["rows"] if (r["arch"], r["variant"]) == ("deep", "float32"))
    assert deep_f32["params"] == 63_160  # the deep AE's weights and biases, as stored
    deep_int8 = next(r for r in res["rows"] if (r["arch"], r["variant"]) == ("deep", "int8"))
    assert set(deep_int8["boards"]) == set(res["boards"])
    assert len(res["boards"]) >= 6
    assert (
        deep_int8["macs"]
        == 48 * 128 + 128 * 128 + 128 * 64 + 64 * 8 + 8 * 64 + 64 * 128 + 128 * 128 + 128 * 48
    )


def test_report_shows_a_table_per_architecture(quick_run):
    text = (quick_run[0] / "REPORT.md").read_text()
    for arch in QUICK_ARCHS:
        said(text, f"## Architecture `{arch}`")
    for name in REGISTRY:
        said(text, f"| {name} ")
    said(
        text,
        "dF1 vs float32",
        "**1,876**",  # seed's smallest flatbuffer, in bold
        "## Not deployable on TFLite Micro",
        "- `deep/float16`: tensorflow/lite/micro/kernels/dequantize",
        "64-bit host build",
    )


def test_report_rerenders_from_results_alone_without_tensorflow(quick_run, tmp_path):
    out = quick_run[0]
    code = (
        "import sys; from bench.cli import main; rc = main(sys.argv[1:]); "
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'; sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "report", str(out / "results.json"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "REPORT.md").read_text() == (out / "REPORT.md").read_text()


def test_warm_rerun_is_served_from_the_cache(quick_run, cache_dir, tmp_path):
    done = edgebench(
        "run",
        "--quick",
        "--out",
        tmp_path,
        "--cache",
        cache_dir,
        "--arch",
        "seed",
        "--variants",
        "float32,int8",
    )
    assert done.returncode == 0, done.stderr
    res = json.loads((tmp_path / "results.json").read_text())
    assert [r["variant"] for r in res["rows"] if not r["cached"]] == []
    assert res["stages_s"].get("train", 0) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--variants", "int9"],
            "unknown variant 'int9'; did you mean 'int8'? (choose from float32",
        ),
        (["--arch", "huge"], "unknown architecture 'huge' (choose from seed, deep, conv, lstm)"),
        (["--window", "1"], "--window 1: a window holds at least 2 points"),
        (["--window", "100000"], "window length 100000 does not fit"),
        (["--threshold", "best"], "unknown threshold policy 'best'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_earlier_results_untouched(quick_run, args, message):
    out = quick_run[0]
    before = (out / "results.json").read_bytes(), (out / "REPORT.md").read_bytes()
    done = edgebench("run", "--quick", "--out", out, *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0], done.stderr
    unsaid(done.stderr, "Traceback")
    assert ((out / "results.json").read_bytes(), (out / "REPORT.md").read_bytes()) == before


def test_unwritable_output_folder_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = edgebench("run", "--quick", "--out", blocker / "sub")
    assert done.returncode == 2
    said(done.stderr, "cannot write to output folder")
    unsaid(done.stderr, "Traceback")


@pytest.mark.parametrize(
    "content", ["", "{not json", '{"rows": []}', '{"schema_version": 99, "rows": []}']
)
def test_report_refuses_a_bad_results_file(tmp_path, content):
    bad = tmp_path / "results.json"
    bad.write_text(content)
    done = edgebench("report", bad)
    assert done.returncode == 2
    starts(done.stderr, f"edgebench: error: {bad}")
    assert len(done.stderr.strip().splitlines()) == 1


def test_variants_lists_the_registry():
    done = edgebench("variants")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    for name in [*REGISTRY, *ARCHS]:
        assert [line for line in lines if line.startswith(f"| {name} ")], name


def test_help_everywhere():
    commands = ["run", "report", "export", "gate", "schema", "targets", "variants"]
    top = edgebench("--help")
    assert top.returncode == 0
    said(top.stdout, *commands)
    for command in commands:
        done = edgebench(command, "--help")
        assert done.returncode == 0
        said(done.stdout, f"usage: edgebench {command}")


def test_results_validate_against_the_printed_json_schema(quick_run):
    import jsonschema

    done = edgebench("schema")
    assert done.returncode == 0
    printed = json.loads(done.stdout)
    jsonschema.Draft202012Validator.check_schema(printed)
    res = json.loads((quick_run[0] / "results.json").read_text())
    jsonschema.validate(res, printed)
    res["rows"][0]["size_bytes"] = "big"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(res, printed)


def test_gate_against_a_baseline_of_other_epochs_is_not_comparable(quick_run, tmp_path):
    """The baseline trained 2 epochs, the run 3: F1 cannot be compared; size can."""
    done = edgebench(
        "run",
        "--quick",
        "--epochs",
        "2",
        "--arch",
        "seed",
        "--variants",
        "float32,int8",
        "--out",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    gated = edgebench(
        "gate",
        quick_run[0] / "results.json",
        "--baseline",
        tmp_path / "results.json",
        "--budgets",
        Path(__file__).parent.parent / ".ci" / "gates.toml",
    )
    assert gated.returncode == 0, gated.stdout
    lines = [ln for ln in gated.stdout.splitlines() if "| seed/" in ln]
    f1 = [ln for ln in lines if ln.startswith("| point_f1 ")]
    assert len(f1) == 2
    assert [ln for ln in f1 if "not comparable" not in ln or "epochs 2 -> 3" not in ln] == []
    assert any(ln.startswith("| size_bytes ") and "| ok " in ln for ln in lines)
    diff = edgebench(
        "diff",
        tmp_path / "results.json",
        quick_run[0] / "results.json",
        "--out",
        tmp_path / "diff.md",
    )
    assert diff.returncode == 0, diff.stderr
    said(
        diff.stdout,
        "| seed/int8 ",
        "not comparable (epochs 2 -> 3)",
        "only in B",  # the deep rows
    )
    starts((tmp_path / "diff.md").read_text(), "# edgebench diff")


def test_a_default_run_lands_in_reports_runs_and_latest_follows(tmp_path, cache_dir):
    done = edgebench(
        "run",
        "--quick",
        "--arch",
        "seed",
        "--variants",
        "float32",
        "--latency-samples",
        "20",
        "--quiet",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    (run,) = (tmp_path / "reports" / "runs").iterdir()
    latest = tmp_path / "reports" / "latest"
    assert latest.is_symlink()
    assert latest.resolve() == run.resolve()
    said(done.stdout, "| seed ")
    assert str(run.relative_to(tmp_path)) in done.stdout
    again = edgebench("report", cwd=tmp_path)  # the latest run's results by default
    assert again.returncode == 0
    said(again.stdout, "reports/latest/REPORT.md")


def test_export_from_the_run_writes_the_measured_model(quick_run, tmp_path):
    out = quick_run[0]
    done = edgebench(
        "export", "int8", "--arch", "deep", "--results", out / "results.json", "--out", tmp_path
    )
    assert done.returncode == 0, done.stderr
    source = (tmp_path / "model_data.c").read_text()
    said(source, "g_deep_int8_model_data_len = ")
    header = (tmp_path / "model_data.h").read_text()
    said(
        header,
        "#define DEEP_INT8_ARENA_SIZE ",
        "#define DEEP_INT8_WINDOW 48",
        "#define DEEP_INT8_THRESHOLD ",
        "deep_int8_scaling_shift",
    )


def test_benchmark_suite_writes_every_variant_with_its_metrics(quick_run, tmp_path):
    """`pytest bench/ --quick` over the registry, reusing the quick run's build cache."""
    out = tmp_path / "bench.json"
    root = Path(__file__).parent.parent
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "bench/",
            "--quick",
            f"--arch={','.join(QUICK_ARCHS)}",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--benchmark-json={out}",
        ],
        cwd=root,
        # pytest-benchmark turns itself off in an xdist worker's environment
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    benchmarks = json.loads(out.read_text())["benchmarks"]
    litert = {
        b["params"]["variant_name"] + "/" + b["params"]["arch_name"]: b
        for b in benchmarks
        if b["name"].startswith("test_litert_invoke")
    }
    applies = {
        f"{r['variant']}/{r['arch']}"
        for r in json.loads((quick_run[0] / "results.json").read_text())["rows"]
        if not r.get("recipe_skipped")
    }
    assert set(litert) == applies
    for bench in litert.values():
        info = bench["extra_info"]
        assert {
            "size_bytes",
            "params",
            "point_f1",
            "arena_bytes",
            "tflm_deployable",
            "est_energy_uj",
        } <= set(info)
        assert bench["stats"]["rounds"] == 200
    compare = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pytest_benchmark.cli import main; main()",
            "compare",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert compare.returncode == 0
    said(compare.stdout, "test_litert_invoke[int8-deep]")


@pytest.mark.slow
def test_the_readmes_api_snippet_runs_as_pasted_into_a_script(tmp_path):
    """An unguarded script: its workers must not import it again (they did, and each
    died with multiprocessing's bootstrapping RuntimeError, the run exiting 0)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    snippet = readme.split("```python\nfrom bench import api\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "try.py"
    script.write_text("from bench import api\n" + snippet)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    unsaid(done.stderr, "RuntimeError")
    printed = [line.split() for line in done.stdout.splitlines() if line.startswith("seed/")]
    assert [p[0] for p in printed] == ["seed/float32", "seed/int8"]
    assert [p for p in printed if "None" in (p[1], p[2])] == []
    said(done.stdout, "| seed   | ")  # the answer


def test_the_latest_run_is_found_from_any_folder_below_the_project(tmp_path):
    import shutil

    run = tmp_path / "reports" / "runs" / "r1"
    run.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "golden" / "results-small.json", run / "results.json")
    (tmp_path / "reports" / "latest").symlink_to(Path("runs") / "r1")
    below = tmp_path / "src" / "deeper"
    below.mkdir(parents=True)
    done = edgebench("report", cwd=below)
    assert done.returncode == 0, done.stderr
    assert (run / "REPORT.md").is_file()
    inside = edgebench("report", cwd=tmp_path / "reports" / "runs")
    assert inside.returncode == 0, inside.stderr  # the project root is two folders up
    alone = tmp_path.parent / f"{tmp_path.name}-alone"
    alone.mkdir()
    lost = edgebench("report", cwd=alone)
    assert lost.returncode == 2
    said(lost.stderr, "no reports/latest/results.json in")
