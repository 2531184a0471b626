"""End to end through the installed `edgebench` command, as a user runs it."""

import json
import os
import subprocess
import sys

import pytest

from variants import REGISTRY
from variants.baseline import ARCHS

ROW_KEYS = {
    "variant", "arch", "dataset", "artifact", "size_bytes", "size_data_bytes",
    "size_nondata_bytes", "size_gzip_bytes", "params", "latency_us_p50", "latency_us_p99",
    "latency_us_mean", "latency_us_stdev", "latency_samples_us", "throughput_windows_per_s",
    "precision", "recall", "f1", "roc_auc", "pr_auc", "threshold", "f1_delta_vs_float32",
    "build_seconds", "cache_key",
}


def edgebench(*args, cwd=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "bench.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("run")
    done = edgebench("run", "--quick", "--out", out, "--cache", cache_dir)
    assert done.returncode == 0, done.stderr
    return out, done


def test_quick_run_writes_every_variant_and_metric(quick_run):
    out, done = quick_run
    res = json.loads((out / "results.json").read_text())
    assert res["schema_version"] == 1
    assert {"platform", "cpu", "cores_logical", "python", "packages", "fingerprint"} <= set(
        res["machine"])
    assert res["config"]["quick"] is True
    assert {"data", "train", "build", "size", "latency", "detection", "total"} <= set(
        res["stages_s"])
    pairs = {(r["arch"], r["variant"]) for r in res["rows"]}
    assert pairs == {(a, v) for a in ARCHS for v in REGISTRY}
    for row in res["rows"]:
        assert set(row) >= ROW_KEYS, ROW_KEYS - set(row)
        assert "errors" not in row
        assert (out / row["artifact"]).stat().st_size == row["size_bytes"]
        assert len(row["latency_samples_us"]) == res["config"]["latency_samples"]
    f32 = [r for r in res["rows"] if r["variant"] == "float32"]
    assert all(r["f1_delta_vs_float32"] == 0 for r in f32)
    assert "[deep] int8: measuring" in done.stdout


def test_report_shows_a_table_per_architecture(quick_run):
    text = (quick_run[0] / "REPORT.md").read_text()
    for arch in ARCHS:
        assert f"## Architecture `{arch}`" in text
    for name in REGISTRY:
        assert f"| {name} " in text
    assert "dF1 vs float32" in text and "**" in text


def test_report_rerenders_from_results_alone_without_tensorflow(quick_run, tmp_path):
    out = quick_run[0]
    code = ("import sys; from bench.cli import main; rc = main(sys.argv[1:]); "
            "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'; sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, "report", str(out / "results.json"),
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "REPORT.md").read_text() == (out / "REPORT.md").read_text()


def test_warm_rerun_is_served_from_the_cache(quick_run, cache_dir, tmp_path):
    done = edgebench("run", "--quick", "--out", tmp_path, "--cache", cache_dir,
                     "--arch", "seed", "--variants", "float32,int8")
    assert done.returncode == 0, done.stderr
    res = json.loads((tmp_path / "results.json").read_text())
    assert all(r["cached"] for r in res["rows"])
    assert res["stages_s"].get("train", 0) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--variants", "int9"], "unknown variant 'int9'; choose from float32"),
    (["--arch", "huge"], "unknown architecture 'huge'; choose from seed, deep"),
    (["--window", "1"], "window length 1 does not fit"),
    (["--window", "100000"], "window length 100000 does not fit"),
    (["--threshold", "best"], "unknown threshold policy 'best'"),
])
def test_bad_input_is_one_line_exit_2_and_earlier_results_untouched(quick_run, args, message):
    out = quick_run[0]
    before = (out / "results.json").read_bytes(), (out / "REPORT.md").read_bytes()
    done = edgebench("run", "--quick", "--out", out, *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert ((out / "results.json").read_bytes(), (out / "REPORT.md").read_bytes()) == before


def test_unwritable_output_folder_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = edgebench("run", "--quick", "--out", blocker / "sub")
    assert done.returncode == 2 and "cannot write to output folder" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("content", ["", "{not json", '{"rows": []}',
                                     '{"schema_version": 99, "rows": []}'])
def test_report_refuses_a_bad_results_file(tmp_path, content):
    bad = tmp_path / "results.json"
    bad.write_text(content)
    done = edgebench("report", bad)
    assert done.returncode == 2 and done.stderr.startswith(f"edgebench: error: {bad}")
    assert len(done.stderr.strip().splitlines()) == 1


def test_variants_lists_the_registry():
    done = edgebench("variants")
    assert done.returncode == 0
    for name in [*REGISTRY, *ARCHS]:
        assert name in done.stdout


def test_help_everywhere():
    for args in ([], ["run"], ["report"], ["variants"]):
        done = edgebench(*args, "--help")
        assert done.returncode == 0 and "usage: edgebench" in done.stdout
